import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { AgentHello, HeartbeatMsg, WorkerCapacity } from '@berth/contracts';
import { bool, int, ip, isoDate, list, message, object, optional, positive, text, uuid, type Check } from '../../common/checks';
import { AgentConnections, type AgentSocket } from './agent-connections';
import { AgentMessages } from './agent-messages.registry';
import { logLinesDropped } from './log-drops.metrics';
import { WorkersService } from './workers.service';

const capacity: Check<WorkerCapacity> = object({ memoryMb: int(1, 16 * 1024 * 1024), cpus: positive });

export const parseHello = message<AgentHello>(
  'hello',
  object({
    capacity,
    advertiseIp: optional(ip),
    agentVersion: text(100),
    // A proxy kind this control plane does not know is read as none, not a reason to refuse the hello.
    proxy: (v: unknown) => (v === 'traefik' || v === 'caddy' || v === 'none' ? v : undefined),
    // What the agent found on its host: listed, never refused for an odd entry (a refused hello keeps the worker offline).
    containers: list(object({ appId: text(200), deploymentId: text(200), containerId: text(200), hostPort: int(0, 65_535), running: bool }), 10_000),
  }),
);
export const parseHeartbeat = message<HeartbeatMsg>(
  'heartbeat',
  object({
    at: isoDate,
    capacity,
    runningContainers: int(0, 1_000_000),
    droppedLogLines: optional(list(object({ appId: uuid, lines: int(1, Number.MAX_SAFE_INTEGER) }), 10_000)),
  }),
);

/** The workers module's agent messages: hello (the worker comes online) and heartbeat (telemetry, with the agent's dropped log lines for /metrics). */
@Injectable()
export class WorkerAgentMessages implements OnModuleInit {
  private readonly logger = new Logger('agent-gateway');

  constructor(
    private readonly messages: AgentMessages,
    private readonly workers: WorkersService,
    private readonly connections: AgentConnections,
  ) {}

  onModuleInit(): void {
    this.messages.handle('hello', parseHello, (worker, msg, socket) => this.hello(socket, msg));
    this.messages.handle('heartbeat', parseHeartbeat, async (worker, msg) => {
      await this.workers.recordHeartbeat(worker.workerId, msg.capacity, msg.runningContainers);
      // Counted once the heartbeat is stored: a refused one is sent again with the same drops.
      for (const { appId, lines } of msg.droppedLogLines ?? []) logLinesDropped.inc({ worker_id: worker.workerId, app_id: appId }, lines);
    });
  }

  private async hello(socket: AgentSocket, msg: AgentHello): Promise<{ workerId: string; name: string }> {
    const { workerId, name } = socket.data.worker;
    await this.workers.bringOnline(workerId, msg.capacity, msg.advertiseIp, msg.containers);
    socket.data.hello = msg;
    if (!socket.connected && !this.connections.get(workerId)) {
      // The agent dropped while its hello was recorded: the offline from the disconnect may have come first.
      await this.workers.takeOffline(workerId, 'the agent disconnected while saying hello');
      return { workerId, name };
    }
    await this.workers.recordHeartbeat(workerId, msg.capacity, msg.containers.filter((c) => c.running).length);
    this.logger.log({ workerId, name, agentVersion: msg.agentVersion, capacity: msg.capacity, msg: 'agent said hello' });
    return { workerId, name };
  }
}
