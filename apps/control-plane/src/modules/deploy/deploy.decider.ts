import { STUCK_JOB_REASON, type AppSpec, type DeploymentEvent, type DeploymentStatus } from '@berth/contracts';
import type { Decider } from '../../common/decider';
import { DomainError, ErrorCode, assertUnreachable } from '../../common/errors';

/** What a worker reports about the job it holds: every result names the worker and the job. */
interface FromWorker {
  workerId: string;
  jobId: string;
}

export type DeployCommand =
  | { type: 'RequestDeployment'; deploymentId: string; appId: string; app: AppSpec; commit?: string; trigger: 'api' | 'webhook' }
  | { type: 'MarkWaiting'; reason: string }
  | { type: 'AssignJob'; jobId: string; workerId: string; memoryMb: number }
  | ({ type: 'RecordJobStarted'; phase: 'building' | 'starting'; commit?: string } & FromWorker)
  | ({ type: 'RecordImageBuilt'; image: string } & FromWorker)
  | ({ type: 'RecordContainerStarted'; containerId: string; hostPort: number } & FromWorker)
  | ({ type: 'RecordJobSucceeded'; containerId: string; hostPort: number } & FromWorker)
  | ({ type: 'RecordJobFailed'; reason: string; logTail: string[] } & FromWorker)
  /** The deployment's container stopped on its own (not stopped by Berth), as its worker saw it. */
  | { type: 'RecordContainerExited'; workerId: string; appId: string; containerId: string; exitCode: number; at: string }
  /** The platform gives up on a job (e.g. its worker never answered): no worker check. */
  | { type: 'FailJob'; reason: string }
  /** The platform ends a deployment that has not finished, placed or not (e.g. its app was deleted). */
  | { type: 'CancelDeployment'; reason: string };

export interface DeploymentState {
  status: DeploymentStatus | 'none';
  deploymentId: string;
  appId: string;
  app?: AppSpec;
  /** The commit asked for (absent: the branch head); JobSpec.commit. */
  requestedCommit?: string;
  reason?: string;
  jobId?: string;
  workerId?: string;
  image?: string;
  container?: { containerId: string; hostPort: number };
  failure?: { reason: string; logTail: string[] };
  /** The worker's own result, when it came after the platform had failed the job as stuck. */
  late?: 'succeeded' | 'failed';
  /** Per container, when (ms) its last recorded exit happened: an exit at or before it was sent again. */
  exits?: Record<string, number>;
}

const TERMINAL: ReadonlySet<string> = new Set(['succeeded', 'failed']);
const RUNNING: ReadonlySet<string> = new Set(['assigned', 'building', 'starting']);
export const isTerminal = (s: DeploymentState) => TERMINAL.has(s.status);

const conflict = (message: string) => new DomainError(ErrorCode.InvalidState, message);

/** A result from a worker that does not hold the job is refused before anything else is looked at. */
function requireHolder(state: DeploymentState, cmd: FromWorker): void {
  if (state.status === 'none' || state.jobId !== cmd.jobId || state.workerId !== cmd.workerId) {
    throw new DomainError(ErrorCode.NotFound, `job ${cmd.jobId} is not assigned to this worker`);
  }
}

function sameContainer(a: DeploymentState['container'], containerId: string, hostPort: number): boolean {
  return a !== undefined && a.containerId === containerId && a.hostPort === hostPort;
}

const timedOut = (state: DeploymentState) => state.status === 'failed' && state.failure?.reason === STUCK_JOB_REASON;

/** The job was failed by recoverStuckJobs: its worker's result, whenever it comes, is recorded as late and decides nothing. */
function lateAfterTimeout(state: DeploymentState, command: FromWorker, result: 'succeeded' | 'failed', detail: { containerId?: string; reason?: string }): DeploymentEvent[] | undefined {
  if (!timedOut(state)) return undefined;
  if (state.late !== undefined) return [];
  return [{ type: 'JobResultArrivedLate', data: { deploymentId: state.deploymentId, jobId: command.jobId, workerId: command.workerId, result, ...detail } }];
}

function sameFailure(a: DeploymentState['failure'], reason: string, logTail: string[]): boolean {
  return a !== undefined && a.reason === reason && a.logTail.length === logTail.length && a.logTail.every((l, i) => l === logTail[i]);
}

/**
 * An exit of the deployment's container on the worker holding it. Its worker sees a container that
 * exits at once exit before its report of the start is in: while starting, an exit of a container not
 * yet reported is taken. Exits of one container come in order, so one at or before the last recorded
 * is a resend and decides nothing.
 */
function decideContainerExited(state: DeploymentState, command: Extract<DeployCommand, { type: 'RecordContainerExited' }>): DeploymentEvent[] {
  const { deploymentId } = state;
  const { workerId, appId, containerId, exitCode, at } = command;
  const known = state.container?.containerId === containerId || state.exits?.[containerId] !== undefined;
  const reportedSoon = state.status === 'starting' && state.container === undefined;
  if (state.workerId !== workerId || state.appId !== appId || !(known || reportedSoon)) {
    throw new DomainError(ErrorCode.NotFound, `container ${containerId} of app ${appId} is not deployment ${deploymentId}'s on this worker`);
  }
  const last = state.exits?.[containerId];
  if (last !== undefined && Date.parse(at) <= last) return [];
  return [{ type: 'ContainerExited', data: { deploymentId, appId, containerId, exitCode, at } }];
}

/**
 * Stream `deployment-<id>`: queued -> assigned -> building (git) -> starting -> succeeded | failed.
 * Terminal states are final. Agents resend results after reconnecting, so a repeated identical result
 * decides nothing; a contradicting one is refused (409).
 */
export const deployDecider: Decider<DeploymentState, DeployCommand, DeploymentEvent> = {
  initialState: () => ({ status: 'none', deploymentId: '', appId: '' }),

  evolve(state, event) {
    switch (event.type) {
      case 'DeploymentRequested': {
        const { deploymentId, appId, app, commit } = event.data;
        return { status: 'queued', deploymentId, appId, app, requestedCommit: commit };
      }
      case 'DeploymentWaiting':
        return { ...state, reason: event.data.reason };
      case 'JobAssigned':
        return { ...state, status: 'assigned', reason: undefined, jobId: event.data.jobId, workerId: event.data.workerId };
      case 'JobStarted':
        return { ...state, status: event.data.phase };
      case 'ImageBuilt':
        return { ...state, status: 'starting', image: event.data.image };
      case 'ContainerStarted':
        return { ...state, container: { containerId: event.data.containerId, hostPort: event.data.hostPort } };
      case 'JobSucceeded':
        return { ...state, status: 'succeeded', container: { containerId: event.data.containerId, hostPort: event.data.hostPort } };
      case 'JobFailed':
        return { ...state, status: 'failed', reason: event.data.reason, failure: { reason: event.data.reason, logTail: event.data.logTail } };
      case 'ContainerExited':
        // A fact about the container, not about the deployment: its outcome stays as it was.
        return { ...state, exits: { ...state.exits, [event.data.containerId]: Date.parse(event.data.at) } };
      case 'JobResultArrivedLate':
        return { ...state, late: event.data.result };
      default:
        return assertUnreachable(event);
    }
  },

  decide(command, state): DeploymentEvent[] {
    if (command.type === 'RequestDeployment') {
      if (state.status !== 'none') throw conflict(`deployment ${command.deploymentId} already exists`);
      const { deploymentId, appId, app, commit, trigger } = command;
      return [{ type: 'DeploymentRequested', data: { deploymentId, appId, app, ...(commit ? { commit } : {}), trigger } }];
    }
    if (state.status === 'none') throw new DomainError(ErrorCode.NotFound, 'deployment does not exist');
    const { deploymentId } = state;
    switch (command.type) {
      case 'MarkWaiting':
        // The scheduler says why it cannot place the deployment; only news is worth an event.
        if (state.status !== 'queued' || state.reason === command.reason) return [];
        return [{ type: 'DeploymentWaiting', data: { deploymentId, reason: command.reason } }];

      case 'AssignJob': {
        const { jobId, workerId, memoryMb } = command;
        if (state.status === 'queued') return [{ type: 'JobAssigned', data: { deploymentId, jobId, workerId, memoryMb } }];
        if (state.jobId === jobId && state.workerId === workerId) return [];
        throw conflict(`deployment ${deploymentId} is ${state.status}, not queued: it cannot be assigned again`);
      }

      case 'RecordJobStarted': {
        requireHolder(state, command);
        if (state.status !== 'assigned') return []; // already started (or finished): a resend
        const { jobId, workerId, phase, commit } = command;
        return [{ type: 'JobStarted', data: { deploymentId, jobId, workerId, phase, ...(commit ? { commit } : {}) } }];
      }

      case 'RecordImageBuilt': {
        requireHolder(state, command);
        if (timedOut(state)) return []; // progress of a job already failed as stuck: acknowledged, nothing changes
        if (state.image !== undefined) {
          if (state.image === command.image) return [];
          throw conflict(`job ${command.jobId} already built image ${state.image}`);
        }
        // A git job builds its image while `building`; an image job starts in `starting` and reports the image it pulled there.
        if (state.status !== 'building' && state.status !== 'starting') throw conflict(`job ${command.jobId} is ${state.status}: an image can only be recorded while building or starting`);
        return [{ type: 'ImageBuilt', data: { deploymentId, jobId: command.jobId, image: command.image } }];
      }

      case 'RecordContainerStarted': {
        requireHolder(state, command);
        if (timedOut(state)) return [];
        const { jobId, containerId, hostPort } = command;
        if (state.container !== undefined) {
          if (sameContainer(state.container, containerId, hostPort)) return [];
          throw conflict(`job ${jobId} already started container ${state.container.containerId} on port ${state.container.hostPort}`);
        }
        if (state.status !== 'starting') throw conflict(`job ${jobId} is ${state.status}: a container can only start while starting`);
        return [{ type: 'ContainerStarted', data: { deploymentId, jobId, containerId, hostPort } }];
      }

      case 'RecordJobSucceeded': {
        requireHolder(state, command);
        const { jobId, workerId, containerId, hostPort } = command;
        if (state.status === 'succeeded' && sameContainer(state.container, containerId, hostPort)) return [];
        const late = lateAfterTimeout(state, command, 'succeeded', { containerId });
        if (late) return late;
        if (isTerminal(state)) throw conflict(`deployment ${deploymentId} already ${state.status}; a different result cannot replace it`);
        return [{ type: 'JobSucceeded', data: { deploymentId, jobId, workerId, containerId, hostPort } }];
      }

      case 'RecordJobFailed': {
        requireHolder(state, command);
        const { jobId, workerId, reason, logTail } = command;
        if (state.status === 'failed' && sameFailure(state.failure, reason, logTail)) return [];
        const late = lateAfterTimeout(state, command, 'failed', { reason });
        if (late) return late;
        if (isTerminal(state)) throw conflict(`deployment ${deploymentId} already ${state.status}; a different result cannot replace it`);
        return [{ type: 'JobFailed', data: { deploymentId, jobId, workerId, reason, logTail } }];
      }

      case 'RecordContainerExited':
        return decideContainerExited(state, command);

      case 'FailJob':
        // Races with the worker's own result: whichever lands first is the outcome.
        if (!RUNNING.has(state.status)) return [];
        return [{ type: 'JobFailed', data: { deploymentId, jobId: state.jobId!, workerId: state.workerId, reason: command.reason, logTail: [] } }];

      case 'CancelDeployment': {
        // Ends the deployment as failed wherever it stands; a finished one keeps its outcome.
        if (isTerminal(state)) return [];
        const job = state.jobId === undefined ? {} : { jobId: state.jobId, ...(state.workerId === undefined ? {} : { workerId: state.workerId }) };
        return [{ type: 'JobFailed', data: { deploymentId, ...job, reason: command.reason, logTail: [] } }];
      }

      default:
        return assertUnreachable(command);
    }
  },
};
