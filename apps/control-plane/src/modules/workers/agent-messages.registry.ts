import { Injectable, Logger } from '@nestjs/common';
import type { AgentAck, AgentHello, ErrorBody } from '@berth/contracts';
import { toErrorBody } from '../../common/error-body';
import type { AgentSocket } from './agent-connections';
import type { AuthenticatedWorker } from './workers.service';

/** What a handler knows of the agent that sent a message. */
export type AgentIdentity = AuthenticatedWorker;

interface Registration {
  parse(payload: unknown): unknown;
  handle(worker: AgentIdentity, msg: unknown, socket: AgentSocket): Promise<unknown>;
}

type HelloListener = (socket: AgentSocket, hello: AgentHello) => Promise<void>;

/**
 * Agent -> control plane messages, owned by the modules that handle them. A module registers each of
 * its messages once (name, payload check, handler) in its onModuleInit; the `/agent` gateway only
 * authenticates and calls `dispatch`. One validation and error-ack path for every message: a check
 * or handler error becomes `{ok: false, error}` through toErrorBody, the handler's value `{ok: true, result}`.
 */
@Injectable()
export class AgentMessages {
  private readonly logger = new Logger('agent-messages');
  private readonly handlers = new Map<string, Registration>();
  private readonly helloListeners: HelloListener[] = [];

  handle<T>(name: string, parse: (payload: unknown) => T, handler: (worker: AgentIdentity, msg: T, socket: AgentSocket) => Promise<unknown>): void {
    if (this.handlers.has(name)) throw new Error(`the agent message ${name} already has a handler`);
    this.handlers.set(name, { parse, handle: handler as Registration['handle'] });
  }

  /** Called after each acknowledged hello of a still-connected agent (send it what it missed). */
  afterHello(listener: HelloListener): void {
    this.helloListeners.push(listener);
  }

  get names(): string[] {
    return [...this.handlers.keys()];
  }

  /** Checks and handles one message and answers its ack; never throws. */
  async dispatch(socket: AgentSocket, name: string, args: unknown[]): Promise<void> {
    const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as (reply: AgentAck) => void) : () => undefined;
    const worker = socket.data.worker;
    let reply: AgentAck;
    try {
      const registration = this.handlers.get(name);
      if (!registration) throw new UnknownMessage(name, this.names);
      const result = await registration.handle(worker, registration.parse(args[0]), socket);
      reply = result === undefined ? { ok: true } : { ok: true, result };
    } catch (err) {
      const { body, unexpected } = err instanceof UnknownMessage ? { body: err.body, unexpected: false } : toErrorBody(err);
      if (unexpected) this.logger.error({ err, event: name, workerId: worker.workerId, correlationId: body.correlationId, msg: 'agent message failed' });
      else if (body.statusCode < 500) this.logger.warn({ event: name, workerId: worker.workerId, error: body.message, msg: 'refused an agent message' });
      reply = { ok: false, error: body };
    }
    try {
      ack(reply);
    } catch (err) {
      this.logger.warn({ err, event: name, msg: 'could not answer an agent message' });
    }
    if (name === 'hello' && reply.ok && socket.connected && socket.data.hello) {
      const hello = socket.data.hello;
      for (const listener of this.helloListeners) {
        listener(socket, hello).catch((err: unknown) => this.logger.warn({ err, workerId: worker.workerId, msg: 'could not act on an agent hello' }));
      }
    }
  }
}

class UnknownMessage extends Error {
  readonly body: ErrorBody;
  constructor(name: string, known: string[]) {
    super(`unknown agent message ${name}`);
    this.body = { statusCode: 400, error: 'Bad Request', message: `unknown agent message "${name}"; this control plane handles ${known.join(', ')}` };
  }
}
