import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { streamIds, type WorkerCapacity, type WorkerView } from '@berth/contracts';
import { CLOCK, Clock, ID_GENERATOR, IdGenerator } from '../../common/clock';
import { DomainError, ErrorCode, notFound } from '../../common/errors';
import type { RequestMeta } from '../../common/request-meta';
import { Projections } from '../../database/projections.service';
import { StreamHandler } from '../../database/stream-handler';
import { hashToken, newToken } from '../auth/token-hash';
import { workerAllocationsProjector } from './projections/worker-allocations.projector';
import { workersProjector } from './projections/workers.projector';
import { workersDecider, type WorkerCommand } from './workers.decider';
import { WorkersRepository } from './workers.repository';

export interface AuthenticatedWorker {
  workerId: string;
  name: string;
}

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

  onModuleInit(): void {
    this.projections.register(workersProjector);
    this.projections.register(workerAllocationsProjector);
  }

  /** Registers a worker; the plain token is returned here once and stored only as a hash. */
  async register(input: { name: string; zone?: string }, meta: RequestMeta): Promise<{ id: string; token: string }> {
    if (await this.repo.nameTaken(input.name)) throw new DomainError(ErrorCode.Conflict, `a worker named ${input.name} already exists; pick another name`);
    const workerId = this.ids.newId();
    const token = newToken('bwt');
    const zone = input.zone ? { zone: input.zone } : {};
    await this.run(workerId, { type: 'RegisterWorker', workerId, name: input.name, ...zone, tokenHash: hashToken(token) }, meta);
    return { id: workerId, token };
  }

  /** Where other hosts reach each worker (its advertised address), for the workers that have one. */
  advertiseIps(workerIds: readonly string[]): Promise<Map<string, string>> {
    return this.repo.advertiseIps(workerIds);
  }

  list(): Promise<WorkerView[]> {
    return this.repo.list();
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

  async bringOnline(workerId: string, capacity: WorkerCapacity, advertiseIp: string | undefined): Promise<void> {
    const ip = advertiseIp === undefined ? {} : { advertiseIp };
    await this.run(workerId, { type: 'BringWorkerOnline', workerId, capacity, ...ip }, this.agentMeta(workerId));
  }

  async takeOffline(workerId: string, reason: string): Promise<void> {
    await this.run(workerId, { type: 'TakeWorkerOffline', workerId, reason }, this.agentMeta(workerId));
  }

  /** Telemetry, not an event: when the control plane last heard from the worker, and what it reported. */
  recordHeartbeat(workerId: string, capacity: WorkerCapacity, runningContainers: number): Promise<void> {
    return this.repo.recordHeartbeat({ workerId, at: this.clock.now(), capacity, runningContainers });
  }

  private agentMeta(workerId: string): RequestMeta {
    return { actor: `worker:${workerId}`, correlationId: this.ids.newId() };
  }

  private async run(workerId: string, command: WorkerCommand, meta: RequestMeta): Promise<void> {
    await this.streams.handle(streamIds.worker(workerId), 'worker', workersDecider, command, { actor: meta.actor, correlationId: meta.correlationId });
  }
}
