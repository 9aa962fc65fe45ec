/**
 * Sends each connected worker its routes (for its local Caddy): the whole list, after the agent's
 * hello and after every route change, skipping a worker whose list did not change since it was last
 * sent. Transport-free: a target is a worker id and a send function.
 */
import type { RoutesMessage, WorkerRoute } from '@berth/contracts';
import type { Logger } from '@berth/core';

export interface RoutesTarget {
  workerId: string;
  /** Resolves once the agent acknowledged the routes. */
  send(msg: RoutesMessage): Promise<void>;
}

export class WorkerRoutesFeed {
  /** Per worker, the routes last acknowledged (as JSON). */
  private readonly sent = new Map<string, string>();

  constructor(
    private readonly routesOf: (workerId: string) => Promise<WorkerRoute[]>,
    private readonly logger: Logger,
  ) {}

  /** After a hello: always send (the agent may have restarted, or its Caddy with it). */
  hello(target: RoutesTarget): Promise<void> {
    this.sent.delete(target.workerId);
    return this.push(target);
  }

  /** After a route change: send to each target whose routes changed. */
  async changed(targets: readonly RoutesTarget[]): Promise<void> {
    await Promise.all(targets.map((t) => this.push(t)));
  }

  private async push(target: RoutesTarget): Promise<void> {
    try {
      const routes = await this.routesOf(target.workerId);
      const json = JSON.stringify(routes);
      if (this.sent.get(target.workerId) === json) return;
      await target.send({ routes });
      this.sent.set(target.workerId, json);
    } catch (err) {
      this.sent.delete(target.workerId);
      this.logger.warn({ err, workerId: target.workerId }, 'could not send a worker its routes; they go with the next change or hello');
    }
  }
}
