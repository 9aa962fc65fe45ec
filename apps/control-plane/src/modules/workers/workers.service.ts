import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { streamIds, type AdoptedContainer, type AppStoppedReason, type WorkerCapacity, type WorkerView } from '@berth/contracts';
import type { StreamAppend } from '@berth/event-store';
import { CLOCK, Clock, ID_GENERATOR, IdGenerator } from '../../common/clock';
import { DomainError, ErrorCode, notFound } from '../../common/errors';
import type { RequestMeta } from '../../common/request-meta';
import { Projections } from '../../database/projections.service';
import { StreamHandler } from '../../database/stream-handler';
import { hashToken, newToken } from '../auth/token-hash';
import { workerAllocationsProjector } from './projections/worker-allocations.projector';
import { workersProjector } from './projections/workers.projector';
import { workerNameDecider, workersDecider, type WorkerCommand } from './workers.decider';
import { WorkersRepository } from './workers.repository';

export interface AuthenticatedWorker {
  workerId: string;
  name: string;
}

/**
 * What else changes, in the same decision, when a worker is lost (offline or removed): each other
 * module's streams (the apps running there become `stopped`). Registered by those modules.
 */
export type WorkerLossCascade = (workerId: string, reason: AppStoppedReason) => Promise<StreamAppend[]>;

/**
 * What else changes when a worker's agent says hello with the containers it still runs (a stopped app
 * whose serving container is among them runs again), in the same append as WorkerCameOnline.
 */
export type WorkerReturnCascade = (workerId: string, running: readonly AdoptedContainer[]) => Promise<StreamAppend[]>;

const expected = (version: number) => (version === 0 ? ('no_stream' as const) : version);

/** Commands on worker streams, and the reads the HTTP API and the agent gateway need. */
@Injectable()
export class WorkersService implements OnModuleInit {
  constructor(
    private readonly streams: StreamHandler,
    private readonly projections: Projections,
    private readonly repo: WorkersRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  private readonly cascades: WorkerLossCascade[] = [];
  private readonly returns: WorkerReturnCascade[] = [];

  /** Another module's part of losing a worker, appended atomically with WorkerWentOffline / WorkerRemoved. */
  onWorkerLost(cascade: WorkerLossCascade): void {
    this.cascades.push(cascade);
  }

  /** Another module's part of a worker's return, appended atomically with WorkerCameOnline. */
  onWorkerBack(cascade: WorkerReturnCascade): void {
    this.returns.push(cascade);
  }

  onModuleInit(): void {
    this.projections.register(workersProjector);
    this.projections.register(workerAllocationsProjector);
  }

  /**
   * Registers a worker; the plain token is returned here once and stored only as a hash. The name is
   * claimed through its own stream (`workername-<name>`) in the same append, as app names are.
   */
  async register(input: { name: string; zone?: string }, meta: RequestMeta): Promise<{ id: string; token: string }> {
    const workerId = this.ids.newId();
    const token = newToken('bwt');
    const zone = input.zone ? { zone: input.zone } : {};
    await this.streams.handleMany(async () => {
      const name = await this.streams.load(streamIds.workerName(input.name), workerNameDecider);
      const now = this.clock.now();
      return [
        {
          streamId: streamIds.workerName(input.name),
          streamType: 'workername',
          expectedVersion: expected(name.version),
          events: workerNameDecider.decide({ type: 'ClaimWorkerName', name: input.name, workerId }, name.state, now),
        },
        {
          streamId: streamIds.worker(workerId),
          streamType: 'worker',
          expectedVersion: 'no_stream',
          events: workersDecider.decide({ type: 'RegisterWorker', workerId, name: input.name, ...zone, tokenHash: hashToken(token) }, workersDecider.initialState(), now),
        },
      ];
    }, { actor: meta.actor, correlationId: meta.correlationId });
    return { id: workerId, token };
  }

  /**
   * Drains a worker: refused while apps run there unless `force`; then WorkerRemoved (its token stops
   * working, its name is free) and, forced, the apps still there become `stopped` in the same append.
   */
  async remove(workerId: string, force: boolean, meta: RequestMeta): Promise<void> {
    const view = await this.get(workerId);
    const running = view.apps.filter((a) => a.state === 'running');
    if (running.length > 0 && !force) {
      throw new DomainError(
        ErrorCode.InvalidState,
        `worker ${view.name} still runs ${running.length} app(s) (${running.map((a) => a.name ?? a.appId).join(', ')}); move or delete them first, or drain with ?force=true`,
      );
    }
    await this.decideLoss(workerId, { type: 'RemoveWorker', workerId, forced: force }, 'worker_removed', meta, (w) => {
      const name = w.state.name!;
      return this.streams.load(streamIds.workerName(name), workerNameDecider).then((claim) => {
        const released = workerNameDecider.decide({ type: 'ReleaseWorkerName', name, workerId }, claim.state, this.clock.now());
        return released.length > 0 ? [{ streamId: streamIds.workerName(name), streamType: 'workername', expectedVersion: expected(claim.version), events: released }] : [];
      });
    });
  }

  /** Where other hosts reach each worker (its advertised address), for the workers that have one. */
  advertiseIps(workerIds: readonly string[]): Promise<Map<string, string>> {
    return this.repo.advertiseIps(workerIds);
  }

  list(): Promise<WorkerView[]> {
    return this.repo.list();
  }

  /** Every worker as list() has it, without the apps placed on each (for placement, which needs only the memory). */
  listWithoutApps(): Promise<Omit<WorkerView, 'apps'>[]> {
    return this.repo.listWithoutApps();
  }

  async get(id: string): Promise<WorkerView> {
    const view = await this.repo.get(id);
    if (!view) throw notFound('worker', id);
    return view;
  }

  /** The worker a token belongs to, or undefined for an unknown token. */
  async authenticate(token: string): Promise<AuthenticatedWorker | undefined> {
    const row = await this.repo.findByTokenHash(hashToken(token));
    return row ? { workerId: row.id, name: row.name } : undefined;
  }

  /**
   * WorkerCameOnline (when something changed) and, in the same append, every other module's part of the
   * return given the containers the agent still runs.
   */
  async bringOnline(workerId: string, capacity: WorkerCapacity, advertiseIp: string | undefined, containers: readonly AdoptedContainer[] = []): Promise<void> {
    const ip = advertiseIp === undefined ? {} : { advertiseIp };
    const running = containers.filter((c) => c.running);
    const meta = this.agentMeta(workerId);
    await this.streams.handleMany(async () => {
      const worker = await this.streams.load(streamIds.worker(workerId), workersDecider);
      const events = workersDecider.decide({ type: 'BringWorkerOnline', workerId, capacity, ...ip }, worker.state, this.clock.now());
      const parts: StreamAppend[] = events.length > 0 ? [{ streamId: streamIds.worker(workerId), streamType: 'worker', expectedVersion: worker.version, events }] : [];
      for (const cascade of this.returns) parts.push(...(await cascade(workerId, running)));
      return parts;
    }, { actor: meta.actor, correlationId: meta.correlationId });
  }

  /** WorkerWentOffline and, in the same append, every other module's cascade (its running apps become `stopped`). */
  async takeOffline(workerId: string, reason: string, lastHeartbeatAt?: string): Promise<void> {
    await this.decideLoss(workerId, { type: 'TakeWorkerOffline', workerId, reason, lastHeartbeatAt }, 'worker_offline', this.agentMeta(workerId));
  }

  /** Retention: deletes at most `batch` heartbeats older than `before` (call again while it returns `batch`). */
  pruneHeartbeats(before: Date, batch: number): Promise<number> {
    return this.repo.pruneHeartbeats(before, batch);
  }

  /** Telemetry, not an event: when the control plane last heard from the worker (PostgreSQL's clock), and what it reported. */
  recordHeartbeat(workerId: string, capacity: WorkerCapacity, runningContainers: number): Promise<void> {
    return this.repo.recordHeartbeat({ workerId, capacity, runningContainers });
  }

  /** Online workers whose last heartbeat is older than `graceMs` by PostgreSQL's clock, and that clock's time. */
  silentWorkers(graceMs: number) {
    return this.repo.silentWorkers(graceMs);
  }

  private async decideLoss(
    workerId: string,
    command: WorkerCommand,
    reason: AppStoppedReason,
    meta: RequestMeta,
    more: (worker: { state: ReturnType<typeof workersDecider.initialState>; version: number }) => Promise<StreamAppend[]> = async () => [],
  ): Promise<void> {
    await this.streams.handleMany(async () => {
      const worker = await this.streams.load(streamIds.worker(workerId), workersDecider);
      if (worker.version === 0) throw notFound('worker', workerId);
      const events = workersDecider.decide(command, worker.state, this.clock.now());
      if (events.length === 0) return [];
      const parts: StreamAppend[] = [{ streamId: streamIds.worker(workerId), streamType: 'worker', expectedVersion: worker.version, events }];
      for (const cascade of this.cascades) parts.push(...(await cascade(workerId, reason)));
      parts.push(...(await more(worker)));
      return parts;
    }, { actor: meta.actor, correlationId: meta.correlationId });
  }

  private agentMeta(workerId: string): RequestMeta {
    return { actor: `worker:${workerId}`, correlationId: this.ids.newId() };
  }

  private async run(workerId: string, command: WorkerCommand, meta: RequestMeta): Promise<void> {
    await this.streams.handle(streamIds.worker(workerId), 'worker', workersDecider, command, { actor: meta.actor, correlationId: meta.correlationId });
  }
}
