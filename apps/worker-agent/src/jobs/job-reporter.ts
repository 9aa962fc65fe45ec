/**
 * The seam between running a job and telling the control plane about it. The agent connection
 * implements it (an ordered, acknowledged outbox); tests record what was reported.
 */
import type { AgentToServer } from '@berth/contracts';

export type JobEvent = Extract<keyof AgentToServer, `job:${string}`>;
export type JobMessages = { [E in JobEvent]: Parameters<AgentToServer[E]>[0] };

export interface JobReporter {
  /** Queues a message for the control plane; delivery (and redelivery) is the reporter's job. */
  report<E extends JobEvent>(event: E, msg: JobMessages[E]): void;
}

/** The two messages that end a job. */
export type JobResult = { event: 'job:succeeded'; msg: JobMessages['job:succeeded'] } | { event: 'job:failed'; msg: JobMessages['job:failed'] };
