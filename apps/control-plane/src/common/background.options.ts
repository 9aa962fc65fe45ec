export const BACKGROUND_OPTIONS = Symbol('BackgroundOptions');

export interface BackgroundOptions {
  /** false in maintenance commands: no reactions, no periodic jobs. */
  runBackgroundWork: boolean;
}
