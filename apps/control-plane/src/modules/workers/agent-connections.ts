import { Injectable } from '@nestjs/common';
import type { AgentHello, AgentToServer, ServerToAgent } from '@berth/contracts';
import type { Socket } from 'socket.io';
import type { AuthenticatedWorker } from './workers.service';

export interface AgentSocketData {
  worker: AuthenticatedWorker;
  /** What the agent said in its last hello on this connection. */
  hello?: AgentHello;
}

export type AgentSocket = Socket<AgentToServer, ServerToAgent, Record<string, never>, AgentSocketData>;

/**
 * The agent sockets connected to this replica, one per worker: a second connection of the same worker
 * replaces the first.
 */
@Injectable()
export class AgentConnections {
  private readonly sockets = new Map<string, AgentSocket>();

  /** Records the socket as its worker's connection; returns the one it replaces, if any. */
  add(socket: AgentSocket): AgentSocket | undefined {
    const workerId = socket.data.worker.workerId;
    const previous = this.sockets.get(workerId);
    this.sockets.set(workerId, socket);
    return previous === socket ? undefined : previous;
  }

  /** Forgets the socket; true when it was its worker's current connection (the worker has none left here). */
  remove(socket: AgentSocket): boolean {
    const workerId = socket.data.worker.workerId;
    if (this.sockets.get(workerId) !== socket) return false;
    this.sockets.delete(workerId);
    return true;
  }

  get(workerId: string): AgentSocket | undefined {
    return this.sockets.get(workerId);
  }

  /** Every agent socket connected to this replica. */
  all(): AgentSocket[] {
    return [...this.sockets.values()];
  }

  get size(): number {
    return this.sockets.size;
  }
}
