import type { AppSpec, DeploymentEvent } from '@berth/contracts';
import { describe, expect, it } from 'vitest';
import { fold } from '../../common/decider';
import { ErrorCode } from '../../common/errors';
import { deployDecider, type DeployCommand } from './deploy.decider';
import { domainErrorOf } from '../../common/errors.testing';

const now = new Date('2025-01-01T00:00:00Z');
const deploymentId = 'd0000000-0000-4000-8000-000000000001';
const appId = 'a0000000-0000-4000-8000-000000000001';
const jobId = 'b0000000-0000-4000-8000-000000000001';
const workerId = 'c0000000-0000-4000-8000-000000000001';
const otherWorker = 'c0000000-0000-4000-8000-000000000002';
const app: AppSpec = { name: 'web', source: { type: 'git', repoUrl: 'https://example.com/web.git', branch: 'main' }, port: 8080 };

const requested: DeploymentEvent = { type: 'DeploymentRequested', data: { deploymentId, appId, app, trigger: 'api' } };
const assigned: DeploymentEvent = { type: 'JobAssigned', data: { deploymentId, jobId, workerId, memoryMb: 256 } };
const started: DeploymentEvent = { type: 'JobStarted', data: { deploymentId, jobId, workerId, phase: 'building' } };
const built: DeploymentEvent = { type: 'ImageBuilt', data: { deploymentId, jobId, image: 'berth/web:1' } };
const containerUp: DeploymentEvent = { type: 'ContainerStarted', data: { deploymentId, jobId, containerId: 'c1', hostPort: 32768 } };
const succeeded: DeploymentEvent = { type: 'JobSucceeded', data: { deploymentId, jobId, workerId, containerId: 'c1', hostPort: 32768 } };
const failed: DeploymentEvent = { type: 'JobFailed', data: { deploymentId, jobId, workerId, reason: 'health check failed', logTail: ['boom'] } };

const given = (events: DeploymentEvent[]) => ({
  when: (cmd: DeployCommand) => deployDecider.decide(cmd, fold(deployDecider, events), now),
  state: () => fold(deployDecider, events),
});

const domainError = domainErrorOf;

const w = { workerId, jobId };

describe('deploy decider', () => {
  it('requests a deployment with the app snapshot; only once', () => {
    const cmd: DeployCommand = { type: 'RequestDeployment', deploymentId, appId, app, commit: 'abc1234', trigger: 'api' };
    expect(given([]).when(cmd)).toEqual([{ type: 'DeploymentRequested', data: { deploymentId, appId, app, commit: 'abc1234', trigger: 'api' } }]);
    expect(given([requested]).state().status).toBe('queued');
    expect(domainError(() => given([requested]).when(cmd)).code).toBe(ErrorCode.InvalidState);
  });

  it('records a waiting reason only while queued and only when it changed', () => {
    const waiting: DeploymentEvent = { type: 'DeploymentWaiting', data: { deploymentId, reason: 'no worker online' } };
    expect(given([requested]).when({ type: 'MarkWaiting', reason: 'no worker online' })).toEqual([waiting]);
    expect(given([requested, waiting]).when({ type: 'MarkWaiting', reason: 'no worker online' })).toEqual([]);
    expect(given([requested, waiting]).when({ type: 'MarkWaiting', reason: 'not enough memory' })).toHaveLength(1);
    expect(given([requested, assigned]).when({ type: 'MarkWaiting', reason: 'x' })).toEqual([]);
  });

  it('assigns only from queued; the same assignment again is a no-op', () => {
    expect(given([requested]).when({ type: 'AssignJob', jobId, workerId, memoryMb: 256 })).toEqual([assigned]);
    expect(given([requested, assigned]).when({ type: 'AssignJob', jobId, workerId, memoryMb: 256 })).toEqual([]);
    const err = domainError(() => given([requested, assigned]).when({ type: 'AssignJob', jobId: 'other', workerId: otherWorker, memoryMb: 1 }));
    expect(err.code).toBe(ErrorCode.InvalidState);
  });

  it('follows a git deployment through building, image built, container started to succeeded', () => {
    expect(given([requested, assigned]).when({ type: 'RecordJobStarted', ...w, phase: 'building' })).toEqual([started]);
    expect(given([requested, assigned, started]).state().status).toBe('building');
    expect(given([requested, assigned, started]).when({ type: 'RecordImageBuilt', ...w, image: 'berth/web:1' })).toEqual([built]);
    expect(given([requested, assigned, started, built]).state().status).toBe('starting');
    expect(given([requested, assigned, started, built]).when({ type: 'RecordContainerStarted', ...w, containerId: 'c1', hostPort: 32768 })).toEqual([containerUp]);
    const history = [requested, assigned, started, built, containerUp];
    expect(given(history).when({ type: 'RecordJobSucceeded', ...w, containerId: 'c1', hostPort: 32768 })).toEqual([succeeded]);
    expect(given([...history, succeeded]).state().status).toBe('succeeded');
  });

  it('an image deployment starts in `starting` and records the image it pulled there', () => {
    const s: DeploymentEvent = { type: 'JobStarted', data: { deploymentId, jobId, workerId, phase: 'starting' } };
    expect(given([requested, assigned, s]).state().status).toBe('starting');
    expect(given([requested, assigned, s]).when({ type: 'RecordImageBuilt', ...w, image: 'busybox' })).toEqual([{ ...built, data: { ...built.data, image: 'busybox' } }]);
    expect(domainError(() => given([requested, assigned]).when({ type: 'RecordImageBuilt', ...w, image: 'busybox' })).code).toBe(ErrorCode.InvalidState);
  });

  it('a repeated JobStarted is a no-op', () => {
    expect(given([requested, assigned, started]).when({ type: 'RecordJobStarted', ...w, phase: 'building' })).toEqual([]);
  });

  it('refuses results from a worker that does not hold the job, naming the job', () => {
    for (const history of [[requested], [requested, assigned], [requested, assigned, started]]) {
      const err = domainError(() => given(history).when({ type: 'RecordJobStarted', workerId: otherWorker, jobId, phase: 'building' }));
      expect(err.code).toBe(ErrorCode.NotFound);
      expect(err.message).toBe(`job ${jobId} is not assigned to this worker`);
    }
    const err = domainError(() => given([requested, assigned, started]).when({ type: 'RecordJobSucceeded', workerId, jobId: 'x', containerId: 'c', hostPort: 1 }));
    expect(err.code).toBe(ErrorCode.NotFound);
  });

  it('terminal states are final: an identical result is a no-op, a contradicting one a conflict', () => {
    const done = [requested, assigned, started, built, containerUp, succeeded];
    expect(given(done).when({ type: 'RecordJobSucceeded', ...w, containerId: 'c1', hostPort: 32768 })).toEqual([]);
    expect(domainError(() => given(done).when({ type: 'RecordJobSucceeded', ...w, containerId: 'c2', hostPort: 1 })).code).toBe(ErrorCode.InvalidState);
    expect(domainError(() => given(done).when({ type: 'RecordJobFailed', ...w, reason: 'x', logTail: [] })).code).toBe(ErrorCode.InvalidState);
    const lost = [requested, assigned, started, failed];
    expect(given(lost).when({ type: 'RecordJobFailed', ...w, reason: 'health check failed', logTail: ['boom'] })).toEqual([]);
    expect(domainError(() => given(lost).when({ type: 'RecordJobFailed', ...w, reason: 'other', logTail: [] })).code).toBe(ErrorCode.InvalidState);
    expect(domainError(() => given(lost).when({ type: 'RecordJobSucceeded', ...w, containerId: 'c1', hostPort: 1 })).code).toBe(ErrorCode.InvalidState);
    expect(given(lost).when({ type: 'RecordJobStarted', ...w, phase: 'building' })).toEqual([]);
  });

  it('fails from any unfinished job state, with the reason and log tail', () => {
    expect(given([requested, assigned]).when({ type: 'RecordJobFailed', ...w, reason: 'health check failed', logTail: ['boom'] })).toEqual([failed]);
    const s = given([requested, assigned, failed]).state();
    expect(s.status).toBe('failed');
    expect(s.reason).toBe('health check failed');
  });

  it('image built and container started are idempotent and ordered', () => {
    const h = [requested, assigned, started, built];
    expect(given(h).when({ type: 'RecordImageBuilt', ...w, image: 'berth/web:1' })).toEqual([]);
    expect(domainError(() => given(h).when({ type: 'RecordImageBuilt', ...w, image: 'berth/web:2' })).code).toBe(ErrorCode.InvalidState);
    expect(domainError(() => given([requested, assigned, started]).when({ type: 'RecordContainerStarted', ...w, containerId: 'c1', hostPort: 1 })).code).toBe(
      ErrorCode.InvalidState,
    );
    expect(given([...h, containerUp]).when({ type: 'RecordContainerStarted', ...w, containerId: 'c1', hostPort: 32768 })).toEqual([]);
  });

  it('the platform can give up on an unfinished job, and not on a finished one', () => {
    const events = given([requested, assigned]).when({ type: 'FailJob', reason: 'worker did not finish the job within 15 minutes' });
    expect(events).toEqual([{ type: 'JobFailed', data: { deploymentId, jobId, workerId, reason: 'worker did not finish the job within 15 minutes', logTail: [] } }]);
    expect(given([requested, assigned, succeeded]).when({ type: 'FailJob', reason: 'x' })).toEqual([]);
    expect(given([requested]).when({ type: 'FailJob', reason: 'x' })).toEqual([]);
  });

  describe('CancelDeployment (its app was deleted)', () => {
    const cancel: DeployCommand = { type: 'CancelDeployment', reason: 'the app was deleted' };
    const waiting: DeploymentEvent = { type: 'DeploymentWaiting', data: { deploymentId, reason: 'no online worker' } };

    it('fails a deployment still waiting for a worker, with the reason and no job', () => {
      const cancelled: DeploymentEvent = { type: 'JobFailed', data: { deploymentId, reason: 'the app was deleted', logTail: [] } };
      expect(given([requested]).when(cancel)).toEqual([cancelled]);
      expect(given([requested, waiting]).when(cancel)).toEqual([cancelled]);
      expect(given([requested, waiting, cancelled]).state()).toMatchObject({ status: 'failed', reason: 'the app was deleted' });
    });

    it.each([
      ['assigned', [requested, assigned]],
      ['building', [requested, assigned, started]],
      ['starting', [requested, assigned, started, built, containerUp]],
    ] as [string, DeploymentEvent[]][])('fails a deployment that is %s, naming its job and worker', (_, history) => {
      expect(given(history).when(cancel)).toEqual([{ type: 'JobFailed', data: { deploymentId, jobId, workerId, reason: 'the app was deleted', logTail: [] } }]);
    });

    it('leaves a finished deployment as it ended: cancelling twice decides nothing', () => {
      expect(given([requested, assigned, started, built, containerUp, succeeded]).when(cancel)).toEqual([]);
      expect(given([requested, assigned, started, failed]).when(cancel)).toEqual([]);
      const cancelled = [requested, assigned, ...given([requested, assigned]).when(cancel)];
      expect(given(cancelled).when(cancel)).toEqual([]);
    });

    it('after a cancel, the worker\'s own late result cannot revive it, and the scheduler cannot place it', () => {
      const cancelled = [requested, assigned, ...given([requested, assigned]).when(cancel)];
      expect(given(cancelled).when({ type: 'RecordJobStarted', ...w, phase: 'building' })).toEqual([]);
      expect(given(cancelled).when({ type: 'RecordJobFailed', ...w, reason: 'the app was deleted', logTail: [] })).toEqual([]);
      expect(domainError(() => given(cancelled).when({ type: 'RecordJobSucceeded', ...w, containerId: 'c1', hostPort: 1 })).code).toBe(ErrorCode.InvalidState);
      const neverPlaced = [requested, ...given([requested]).when(cancel)];
      expect(domainError(() => given(neverPlaced).when({ type: 'AssignJob', jobId, workerId, memoryMb: 256 })).code).toBe(ErrorCode.InvalidState);
    });

    it('a deployment that does not exist is not found', () => {
      expect(domainError(() => given([]).when(cancel)).code).toBe(ErrorCode.NotFound);
    });
  });

  describe('RecordContainerExited', () => {
    const exit = (containerId: string, at: string): DeployCommand => ({ type: 'RecordContainerExited', workerId, appId, containerId, exitCode: 3, at });
    const exited = (containerId: string, at: string): DeploymentEvent => ({ type: 'ContainerExited', data: { deploymentId, appId, containerId, exitCode: 3, at } });
    const t1 = '2025-01-01T00:00:01.000Z';
    const t2 = '2025-01-01T00:00:02.500Z';

    it('records each exit of the deployment\'s container once, whatever the outcome; the same exit again decides nothing', () => {
      expect(given([requested, assigned, started, built, containerUp, succeeded]).when(exit('c1', t1))).toEqual([exited('c1', t1)]);
      expect(given([requested, assigned, started, built, containerUp, failed]).when(exit('c1', t1))).toEqual([exited('c1', t1)]);
      const after = [requested, assigned, started, built, containerUp, succeeded, exited('c1', t1)];
      expect(given(after).when(exit('c1', t1))).toEqual([]);
      expect(given(after).when(exit('c1', t2))).toEqual([exited('c1', t2)]);
      expect(given(after).state().status).toBe('succeeded');
    });

    it('takes an exit that comes before the report of its container\'s start, while starting', () => {
      expect(given([requested, assigned, started, built]).when(exit('c9', t1))).toEqual([exited('c9', t1)]);
      expect(given([requested, assigned, started, built, exited('c9', t1)]).when(exit('c9', t1))).toEqual([]);
    });

    it('refuses another container, another worker, another app, or a deployment not started yet', () => {
      const up = [requested, assigned, started, built, containerUp, succeeded];
      expect(domainError(() => given(up).when(exit('c2', t1))).code).toBe(ErrorCode.NotFound);
      expect(domainError(() => given(up).when({ ...exit('c1', t1), workerId: otherWorker } as DeployCommand)).code).toBe(ErrorCode.NotFound);
      expect(domainError(() => given(up).when({ ...exit('c1', t1), appId: 'a0000000-0000-4000-8000-000000000002' } as DeployCommand)).message).toMatch(/container c1 of app .* is not deployment/);
      expect(domainError(() => given([requested, assigned]).when(exit('c1', t1))).code).toBe(ErrorCode.NotFound);
      expect(domainError(() => given([]).when(exit('c1', t1))).code).toBe(ErrorCode.NotFound);
    });
  });

  it('commands on a deployment that does not exist are not found', () => {
    expect(domainError(() => given([]).when({ type: 'MarkWaiting', reason: 'x' })).code).toBe(ErrorCode.NotFound);
  });

  it('records a worker result that comes after recoverStuckJobs failed the job as late, once, and changes nothing', () => {
    const timedOut: DeploymentEvent = { type: 'JobFailed', data: { deploymentId, jobId, workerId, reason: 'timeout', logTail: [] } };
    const history = [requested, assigned, started, timedOut];
    expect(given([requested, assigned, started]).when({ type: 'FailJob', reason: 'timeout' })).toEqual([timedOut]);
    const late: DeploymentEvent = { type: 'JobResultArrivedLate', data: { deploymentId, jobId, workerId, result: 'succeeded', containerId: 'c1' } };
    expect(given(history).when({ type: 'RecordJobSucceeded', ...w, containerId: 'c1', hostPort: 32768 })).toEqual([late]);
    expect(given([...history, late]).when({ type: 'RecordJobSucceeded', ...w, containerId: 'c1', hostPort: 32768 })).toEqual([]);
    expect(given([...history, late]).state()).toMatchObject({ status: 'failed', reason: 'timeout' });
    expect(given(history).when({ type: 'RecordJobFailed', ...w, reason: 'build failed', logTail: [] })).toEqual([
      { type: 'JobResultArrivedLate', data: { deploymentId, jobId, workerId, result: 'failed', reason: 'build failed' } },
    ]);
    // Progress of the abandoned job is acknowledged and decides nothing.
    expect(given(history).when({ type: 'RecordImageBuilt', ...w, image: 'berth/web:1' })).toEqual([]);
    expect(given(history).when({ type: 'RecordContainerStarted', ...w, containerId: 'c1', hostPort: 1 })).toEqual([]);
    // Another worker's word still counts for nothing.
    expect(domainError(() => given(history).when({ type: 'RecordJobSucceeded', workerId: otherWorker, jobId, containerId: 'c', hostPort: 1 })).code).toBe(
      ErrorCode.NotFound,
    );
    // A deployment failed for any other reason still refuses a contradicting result.
    expect(domainError(() => given([requested, assigned, failed]).when({ type: 'RecordJobSucceeded', ...w, containerId: 'c1', hostPort: 32768 })).code).toBe(
      ErrorCode.InvalidState,
    );
  });
});
