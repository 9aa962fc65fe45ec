/**
 * Tells the control plane about each exit of this worker's containers that Berth did not cause
 * (`container:exited`, through the acknowledged outbox: never dropped). The time of the last exit the
 * control plane acknowledged is kept in the work dir; a restarted agent asks the runtime for the exits
 * since then, so exits while it was down are reported too. Sending an exit twice is harmless: the
 * control plane records each exit once.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AGENT_MESSAGE, type ContainerExitedMsg } from '@berth/contracts';
import type { Logger } from 'pino';
import type { ContainerExit, ExitWatcher, Runtime } from '../runtimes/runtime';
import { writeFileAtomic } from './log-cursor-store';
import type { TelemetrySink } from './telemetry-sink';

export const EXIT_CURSOR_FILE = 'exit-cursor.json';

export interface ExitReporterOptions {
  runtime: Pick<Runtime, 'watchExits'>;
  sink: TelemetrySink;
  workDir: string;
  logger: Logger;
}

export class ExitReporter {
  private readonly log: Logger;
  private watcher: ExitWatcher | undefined;
  private starting: Promise<void> | undefined;
  private stopped = false;
  /** Cursor writes, one after another; the newest acknowledged exit wins. */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: ExitReporterOptions) {
    this.log = options.logger.child({ component: 'exit-reporter' });
  }

  /** Starts watching the worker's containers (once; later calls do nothing). */
  start(workerId: string): Promise<void> {
    this.starting ??= this.loadCursor().then((since) => {
      if (this.stopped) return;
      this.watcher = this.options.runtime.watchExits(workerId, { since }, (exit) => this.report(exit));
      this.log.info({ since: since?.toISOString() }, 'watching container exits');
    });
    return this.starting;
  }

  /** Stops watching; resolves once the cursor of every acknowledged exit is on disk. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.starting?.catch(() => undefined);
    this.watcher?.stop();
    await this.writing;
  }

  private report(exit: ContainerExit): void {
    const msg: ContainerExitedMsg = { deploymentId: exit.deploymentId, appId: exit.appId, containerId: exit.containerId, exitCode: exit.exitCode, at: exit.at.toISOString() };
    this.log.info(msg, 'container exited');
    this.options.sink.send(AGENT_MESSAGE.containerExited, msg, { onAck: () => this.saveCursor(exit.at) });
  }

  private get cursorFile(): string {
    return path.join(this.options.workDir, EXIT_CURSOR_FILE);
  }

  private async loadCursor(): Promise<Date | undefined> {
    try {
      const { at } = JSON.parse(await readFile(this.cursorFile, 'utf8')) as { at?: unknown };
      const since = typeof at === 'string' ? new Date(at) : undefined;
      return since && !Number.isNaN(since.getTime()) ? since : undefined;
    } catch {
      return undefined;
    }
  }

  private saveCursor(at: Date): void {
    this.writing = this.writing
      .then(() => writeFileAtomic(this.options.workDir, this.cursorFile, JSON.stringify({ at: at.toISOString() })))
      .catch((err: unknown) => this.log.warn({ err }, 'could not remember the last reported exit'));
  }
}
