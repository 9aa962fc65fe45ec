import { randomBytes } from 'node:crypto';
import { APP_DELETED_REASON, LABELS } from '@berth/contracts';
import type { JobSpec } from '@berth/contracts';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, ensureBusyboxImage, removeContainersByLabel, removeAppImages, requireDockerOrSkip, tempDir } from '../../../test/support/docker';
import { FIXTURE_APP_PORT, createAppRepo, pushCommit } from '../../../test/support/git-fixture';
import type { AppRepo } from '../../../test/support/git-fixture';
import { Git } from './git/git';
import { systemClock } from '@berth/core';
import { JobRunner } from './job-runner';
import type { JobRunnerOptions } from './job-runner';
import type { JobEvent, JobMessages, JobReporter } from './jobs/job-reporter';
import { DockerRuntime } from './runtimes/docker/docker-runtime';

const hasDocker = requireDockerOrSkip();
const logger = pino({ level: 'silent' });

type Reported = { [E in JobEvent]: { event: E; msg: JobMessages[E]; at: number } }[JobEvent];

/** The connection's seam, recording: what a job reported, and a way to await a message. */
class RecordingReporter implements JobReporter {
  readonly messages: Reported[] = [];
  private waiters: { match: (m: Reported) => boolean; resolve: (m: Reported) => void }[] = [];

  report<E extends JobEvent>(event: E, msg: JobMessages[E]): void {
    const m = { event, msg, at: Date.now() } as Reported;
    this.messages.push(m);
    this.waiters = this.waiters.filter((w) => (w.match(m) ? (w.resolve(m), false) : true));
  }

  of(jobId: string): Reported[] {
    return this.messages.filter((m) => m.msg.jobId === jobId);
  }

  /** The job's result (job:succeeded or job:failed), as soon as it is reported. */
  result(jobId: string): Promise<Reported> {
    return this.first((m) => m.msg.jobId === jobId && (m.event === 'job:succeeded' || m.event === 'job:failed'));
  }

  /** The first message that matches, as soon as it is reported. */
  first(match: (m: Reported) => boolean): Promise<Reported> {
    const seen = this.messages.find(match);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}

function get(hostPort: number): Promise<{ ok: boolean; body: string }> {
  return fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(2_000) }).then(
    async (res) => ({ ok: res.ok, body: await res.text() }),
    (err: Error) => ({ ok: false, body: err.message }),
  );
}

describe.skipIf(!hasDocker)('JobRunner (real Docker, real git)', () => {
  const run = randomBytes(4).toString('hex');
  const appId = `jr-${run}`;
  const otherAppId = `jr-other-${run}`;
  const workerId = `worker-${run}`;
  const runtime = new DockerRuntime({ docker, logger });
  let repo: AppRepo;
  let work: { dir: string; remove: () => Promise<void> };
  let seq = 0;

  function runner(reporter: JobReporter, extra: Partial<JobRunnerOptions> = {}): JobRunner {
    return new JobRunner({ runtime, git: new Git(work.dir, logger), reporter, workerId, healthCheckDeadlineMs: 15_000, logger, previousContainerDrainMs: 0, stopTimeoutSec: 1, ...extra });
  }

  function job(commit?: string): JobSpec {
    seq++;
    return {
      jobId: `job-${run}-${seq}`,
      deploymentId: `dep-${run}-${seq}`,
      appId,
      commit,
      app: { name: appId, source: { type: 'git', repoUrl: repo.url, branch: 'main' }, port: FIXTURE_APP_PORT, memoryMb: 64, healthCheckPath: '/' },
    };
  }

  async function appContainers() {
    return (await runtime.list(workerId)).filter((c) => c.appId === appId);
  }

  beforeAll(async () => {
    await ensureBusyboxImage();
    repo = await createAppRepo({ message: `v1 ${run}` });
    work = await tempDir('berth-jobs-');
  });

  afterAll(async () => {
    for (const id of [appId, otherAppId]) {
      await removeContainersByLabel(`${LABELS.app}=${id}`);
      await removeAppImages(id);
    }
    await repo?.remove();
    await work?.remove();
  });

  let v1: { containerId: string; hostPort: number; job: JobSpec; commit: string };

  it('deploys a git app: started (with the commit), build log, image built, container started, succeeded', async () => {
    const reporter = new RecordingReporter();
    const r = runner(reporter);
    const j = job();
    expect(r.submit(j)).toEqual({ accepted: true });
    expect(r.submit(j)).toEqual({ accepted: true }); // sent twice: runs once
    const result = await reporter.result(j.jobId);
    await r.idle();
    expect(result.event).toBe('job:succeeded');
    const events = reporter.of(j.jobId).map((m) => m.event);
    expect(events.filter((e) => e !== 'job:log')).toEqual(['job:started', 'job:image-built', 'job:container-started', 'job:succeeded']);
    expect(events.indexOf('job:log')).toBeGreaterThan(events.indexOf('job:started'));
    const tagged = reporter.of(j.jobId).findIndex((m) => m.event === 'job:log' && m.msg.lines.some((l) => l.line.startsWith('Successfully tagged')));
    expect(tagged).toBeGreaterThan(0);
    expect(tagged).toBeLessThan(events.indexOf('job:image-built'));
    expect(reporter.of(j.jobId)[0]).toMatchObject({ event: 'job:started', msg: { phase: 'building', commit: repo.head } });
    const lines = reporter.of(j.jobId).flatMap((m) => (m.event === 'job:log' ? m.msg.lines : []));
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    expect(lines.map((l) => l.line)).toContain(`Successfully tagged berth-app-${appId}:${j.deploymentId}`);
    const msg = result.msg as JobMessages['job:succeeded'];
    expect(await get(msg.hostPort)).toEqual({ ok: true, body: `v1 ${run}\n` });
    expect(await appContainers()).toHaveLength(1);
    v1 = { containerId: msg.containerId, hostPort: msg.hostPort, job: j, commit: repo.head };

    // Sent again after it finished: the result is reported again, nothing runs.
    expect(r.submit(j)).toEqual({ accepted: true });
    expect(reporter.of(j.jobId).filter((m) => m.event === 'job:succeeded')).toHaveLength(2);
    expect(await appContainers()).toHaveLength(1);
  }, 60_000);

  it('deploys a new commit with zero downtime: the old container answers until the new one is healthy, then goes', async () => {
    const commit = await pushCommit(repo, `v2 ${run}`);
    const reporter = new RecordingReporter();
    const r = runner(reporter);
    const j = job();
    const polls: { at: number; ok: boolean; body: string }[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) polls.push({ ...(await get(v1.hostPort)), at: Date.now() });
    })();
    r.submit(j);
    const result = await reporter.result(j.jobId);
    await r.idle();
    polling = false;
    await poller;

    expect(result.event).toBe('job:succeeded');
    expect(reporter.of(j.jobId)[0]!.msg).toMatchObject({ commit });
    const beforeHealthy = polls.filter((p) => p.at < result.at);
    expect(beforeHealthy.length).toBeGreaterThan(5);
    expect(beforeHealthy.every((p) => p.ok && p.body === `v1 ${run}\n`)).toBe(true);
    const msg = result.msg as JobMessages['job:succeeded'];
    expect(msg.hostPort).not.toBe(v1.hostPort);
    expect(await get(msg.hostPort)).toEqual({ ok: true, body: `v2 ${run}\n` });
    expect(await runtime.state(v1.containerId)).toMatchObject({ exists: false });
    expect((await appContainers()).map((c) => c.containerId)).toEqual([msg.containerId]);
    v1 = { containerId: msg.containerId, hostPort: msg.hostPort, job: j, commit };
  }, 60_000);

  it('fails a never-healthy deploy with the reason and the log tail, and the previous version keeps serving', async () => {
    await pushCommit(repo, `v3 ${run}`, 'never-listens');
    const reporter = new RecordingReporter();
    const r = runner(reporter, { healthCheckDeadlineMs: 3_000 });
    const j = job();
    r.submit(j);
    const result = await reporter.result(j.jobId);
    await r.idle();
    expect(result.event).toBe('job:failed');
    const failed = result.msg as JobMessages['job:failed'];
    expect(failed.reason).toMatch(/^health check GET \/ on port \d+ did not succeed within 3s \(\d+ tries, last: connection (refused|reset)\)$/);
    expect(failed.logTail).toEqual(['app booting, will never listen', 'still not listening']);
    expect(reporter.of(j.jobId).map((m) => m.event)).toContain('job:container-started');
    expect(await get(v1.hostPort)).toEqual({ ok: true, body: `v2 ${run}\n` });
    expect((await appContainers()).map((c) => c.containerId)).toEqual([v1.containerId]);
  }, 60_000);

  it('fails once the new container keeps exiting (restarted CRASHLOOP_EXITS times), and when the clone fails', async () => {
    await pushCommit(repo, `v4 ${run}`, 'exits');
    const reporter = new RecordingReporter();
    const r = runner(reporter);
    const exits = job();
    const base = job();
    const badClone: JobSpec = { ...base, app: { ...base.app, source: { type: 'git', repoUrl: `${repo.url}-gone`, branch: 'main' } } };
    r.submit(exits);
    r.submit(badClone);
    const [a, b] = await Promise.all([reporter.result(exits.jobId), reporter.result(badClone.jobId)]);
    await r.idle();
    const failedMsg = a.msg as JobMessages['job:failed'];
    expect(failedMsg.reason).toMatch(/^container exited with code 3 before becoming healthy \(restarted [3-9] times\)$/);
    // One line per run of the app (the run just restarted may not have printed yet).
    expect(failedMsg.logTail.length).toBeGreaterThanOrEqual(3);
    expect(new Set(failedMsg.logTail)).toEqual(new Set(['fatal: missing configuration']));
    expect(b.event).toBe('job:failed');
    expect((b.msg as JobMessages['job:failed']).reason).toMatch(/^git clone of .*-gone \(branch main\) failed: fatal: /);
    expect(reporter.of(badClone.jobId).map((m) => m.event)).toEqual(['job:started', 'job:log', 'job:failed']);
    // Jobs of one app run one after the other: the second started only after the first finished.
    const order = reporter.messages.filter((m) => m.event === 'job:started' || m.event === 'job:failed').map((m) => `${m.event}:${m.msg.jobId}`);
    expect(order).toEqual([`job:started:${exits.jobId}`, `job:failed:${exits.jobId}`, `job:started:${badClone.jobId}`, `job:failed:${badClone.jobId}`]);
    expect((await appContainers()).map((c) => c.containerId)).toEqual([v1.containerId]);
  }, 60_000);

  it('after an agent restart, adopts the container a re-sent job already started instead of starting a duplicate', async () => {
    const reporter = new RecordingReporter();
    const restarted = runner(reporter);
    expect(restarted.submit(v1.job)).toEqual({ accepted: true });
    const result = await reporter.result(v1.job.jobId);
    await restarted.idle();
    expect(result).toMatchObject({ event: 'job:succeeded', msg: { jobId: v1.job.jobId, containerId: v1.containerId, hostPort: v1.hostPort } });
    expect(reporter.of(v1.job.jobId).map((m) => m.event)).toEqual(['job:started', 'job:image-built', 'job:container-started', 'job:succeeded', 'job:log']);
    expect(reporter.of(v1.job.jobId)[0]!.msg).toEqual({ jobId: v1.job.jobId, phase: 'building', commit: v1.commit });
    expect((await appContainers()).map((c) => c.containerId)).toEqual([v1.containerId]);
    expect(await get(v1.hostPort)).toEqual({ ok: true, body: `v2 ${run}\n` });
  }, 60_000);

  it('app:remove waits for the app\'s job in progress, then removes all its containers and images; later jobs and other apps are left alone', async () => {
    const appImages = async (id: string) => (await docker.listImages({ filters: { reference: [`berth-app-${id}`] } })).flatMap((i) => i.RepoTags ?? []);
    // Retiring the previous container waits on this gate, so that the removal is what takes it away.
    const DRAIN_MS = 12_345;
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const clock = { ...systemClock, sleep: (ms: number) => (ms === DRAIN_MS ? gate : systemClock.sleep(ms)) };
    const reporter = new RecordingReporter();
    const r = runner(reporter, { previousContainerDrainMs: DRAIN_MS, clock });

    // Another app, built from the same commit (so its image may well share this app's image id).
    const base = job(v1.commit);
    const other: JobSpec = { ...base, appId: otherAppId, app: { ...base.app, name: otherAppId } };
    r.submit(other);
    const otherResult = await reporter.result(other.jobId);
    expect(otherResult.event).toBe('job:succeeded');
    const otherPort = (otherResult.msg as JobMessages['job:succeeded']).hostPort;
    expect(await appImages(appId)).not.toEqual([]);

    const inProgress = job(v1.commit);
    r.submit(inProgress);
    await reporter.first((m) => m.msg.jobId === inProgress.jobId && m.event === 'job:started');
    const removal = r.removeApp(appId).then((reply) => ({ reply, at: Date.now() }));
    const later = job(v1.commit);
    r.submit(later);
    const [{ reply, at }, built] = await Promise.all([removal, reporter.result(inProgress.jobId)]);

    expect(built.event).toBe('job:succeeded');
    expect(built.at).toBeLessThanOrEqual(at);
    expect(reply).toEqual({ removed: 2 }); // the previous container and the one the job just started
    expect(await appContainers()).toEqual([]);
    expect(await appImages(appId)).toEqual([]);
    expect(await reporter.result(later.jobId)).toMatchObject({ event: 'job:failed', msg: { jobId: later.jobId, reason: APP_DELETED_REASON, logTail: [] } });
    expect(reporter.of(later.jobId).map((m) => m.event)).toEqual(['job:failed']);

    openGate();
    await r.idle();
    expect(await appContainers()).toEqual([]);
    expect((await runtime.list(workerId)).filter((c) => c.appId === otherAppId).map((c) => c.running)).toEqual([true]);
    expect(await get(otherPort)).toEqual({ ok: true, body: `v2 ${run}\n` });
    expect(await appImages(otherAppId)).toEqual([`berth-app-${otherAppId}:${other.deploymentId}`]);
    // Told again (say, after the agent's next hello): nothing is left to remove.
    expect(await r.removeApp(appId)).toEqual({ removed: 0 });
  }, 60_000);
});
