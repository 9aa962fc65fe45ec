/**
 * The one logger interface of Berth's libraries and background loops: `(fields, message)`, as pino
 * takes it. A pino logger fits as is; the control plane adapts Nest's logger to it once.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const ignore = (): void => undefined;

export const noopLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
