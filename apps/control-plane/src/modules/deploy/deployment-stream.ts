import { Injectable } from '@nestjs/common';
import { streamIds } from '@berth/contracts';
import { notFound } from '../../common/errors';
import { StreamHandler } from '../../database/stream-handler';
import { deployDecider, type DeployCommand } from './deploy.decider';

/** Decide-and-append attempts on a deployment stream before a conflict reaches the caller. */
export const MAX_ATTEMPTS = 5;

/**
 * A deployment's stream: load -> decide -> append(expected version), each event after the first
 * carrying the deployment's correlation id and, as causation, the previous event's id. Shared by the
 * deploy module's API commands and the agent's job results.
 */
@Injectable()
export class DeploymentStream {
  constructor(private readonly streams: StreamHandler) {}

  load(deploymentId: string) {
    return this.streams.load(streamIds.deployment(deploymentId), deployDecider);
  }

  /**
   * `waitForReadModels: false` for an agent's progress reports: the agent reads nothing back, and its
   * next message (often the result) queues behind this acknowledgement.
   */
  async execute(deploymentId: string, command: DeployCommand, actor: string, waitForReadModels = true): Promise<void> {
    await this.streams.handle(
      streamIds.deployment(deploymentId),
      'deployment',
      deployDecider,
      command,
      (history) => {
        const previous = history[history.length - 1];
        return { actor, correlationId: history[0].metadata.correlationId, causationId: previous.eventId ?? previous.metadata.eventId };
      },
      { waitForProjections: waitForReadModels, ifMissing: () => notFound('deployment', deploymentId), maxAttempts: MAX_ATTEMPTS },
    );
  }
}
