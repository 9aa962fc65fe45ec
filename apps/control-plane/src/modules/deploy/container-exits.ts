import { Injectable, OnModuleInit } from '@nestjs/common';
import { AGENT_MESSAGE, type ContainerExitedMsg } from '@berth/contracts';
import { int, isoDate, message, object, text, uuid } from '../../common/checks';
import { AgentMessages } from '../workers/agent-messages.registry';
import { DeploymentStream } from './deployment-stream';

export const parseContainerExited = message<ContainerExitedMsg>(
  AGENT_MESSAGE.containerExited,
  object({ deploymentId: uuid, appId: uuid, containerId: text(200), exitCode: int(0, 255), at: isoDate }),
);

/**
 * `container:exited`: an agent saw a container of a deployment it holds stop on its own. Recorded as
 * ContainerExited on the deployment's stream, once per exit however often the agent sends it; crash
 * loops and restart counts are read from those events.
 */
@Injectable()
export class ContainerExits implements OnModuleInit {
  constructor(
    private readonly stream: DeploymentStream,
    private readonly messages: AgentMessages,
  ) {}

  onModuleInit(): void {
    this.messages.handle(AGENT_MESSAGE.containerExited, parseContainerExited, (w, msg) => this.recordContainerExited(w.workerId, msg));
  }

  async recordContainerExited(workerId: string, msg: ContainerExitedMsg): Promise<void> {
    const { deploymentId, appId, containerId, exitCode, at } = msg;
    // Nothing the agent reads back waits on the read models.
    await this.stream.execute(deploymentId, { type: 'RecordContainerExited', workerId, appId, containerId, exitCode, at }, `worker:${workerId}`, false);
  }
}
