/**
 * The /agent wire against a real socket.io server that plays the control plane's side of
 * libs/contracts/src/agent-protocol.ts — including a crash before acknowledging a result.
 */
import type { AgentHello, HeartbeatMsg, JobSpec } from '@berth/contracts';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentConnection } from './agent-connection';
import { LOG_FLOW_WINDOW_BYTES } from './outbox';
import type { AgentConnectionOptions } from './agent-connection';
import { startFakeControlPlane } from './fake-control-plane.testing';

const TOKEN = 'worker-token-1';
const logger = pino({ level: 'silent' });
const fakeControlPlane = (port = 0, opts: Omit<Parameters<typeof startFakeControlPlane>[0], 'token' | 'port'> = {}) => startFakeControlPlane({ port, token: TOKEN, ...opts });

const hello: AgentHello = { capacity: { memoryMb: 1024, cpus: 2 }, agentVersion: 'test', containers: [{ appId: 'a1', deploymentId: 'd1', containerId: 'c1', hostPort: 20_001, running: true }] };
const open: AgentConnection[] = [];

function connect(port: number, extra: Partial<AgentConnectionOptions> = {}): AgentConnection {
  const c = new AgentConnection({
    url: `http://127.0.0.1:${port}`,
    token: TOKEN,
    logger,
    hello: async () => hello,
    onHello: () => undefined,
    onJob: () => ({ accepted: true }),
    onAppRemove: async () => ({ removed: 0 }),
    heartbeat: async () => ({ at: new Date().toISOString(), capacity: hello.capacity, runningContainers: 1 }),
    ackTimeoutMs: 2_000,
    reconnectDelayMs: { min: 50, max: 200 },
    ...extra,
  });
  open.push(c);
  c.start();
  return c;
}

afterEach(() => open.splice(0).forEach((c) => c.close()));

describe('AgentConnection (real socket.io)', () => {
  it('is refused with a wrong token, and says so', async () => {
    const cp = await fakeControlPlane();
    try {
      const rejected = new Promise<string>((resolve) => connect(cp.port, { token: 'wrong', onAuthRejected: resolve }));
      expect(await rejected).toBe('invalid worker token');
      expect(cp.received).toEqual([]);
    } finally {
      await cp.close();
    }
  });

  it('says hello with its containers, then sends job messages in order and answers jobs', async () => {
    const cp = await fakeControlPlane();
    try {
      const jobs: JobSpec[] = [];
      let beatAcked!: (msg: HeartbeatMsg) => void;
      const acked = new Promise<HeartbeatMsg>((resolve) => (beatAcked = resolve));
      const helloReply = new Promise<unknown>((resolve) => {
        const c = connect(cp.port, { onHello: resolve, onJob: (j) => (jobs.push(j), { accepted: true }), heartbeatIntervalMs: 100, onHeartbeatAck: beatAcked });
        c.report('job:started', { jobId: 'j1', phase: 'building', commit: 'abc' });
        c.report('job:log', { jobId: 'j1', lines: [{ seq: 1, line: 'Step 1/2', at: new Date().toISOString() }] });
        c.report('job:succeeded', { jobId: 'j1', containerId: 'c2', hostPort: 20_002 });
      });
      expect(await helloReply).toEqual({ workerId: 'w-1', name: 'worker-one' });
      await cp.waitFor((r) => r.event === 'job:succeeded');
      const sent = cp.received.filter((r) => r.event !== 'heartbeat');
      expect(sent.map((r) => r.event)).toEqual(['hello', 'job:started', 'job:log', 'job:succeeded']);
      expect(sent[0]!.msg).toEqual(hello);
      const beat = await cp.waitFor((r) => r.event === 'heartbeat');
      expect(beat.msg).toMatchObject({ capacity: { memoryMb: 1024, cpus: 2 }, runningContainers: 1 });
      // Told which heartbeat the control plane took (its dropped-log-line report is then counted there).
      expect(await acked).toMatchObject({ capacity: { memoryMb: 1024, cpus: 2 }, runningContainers: 1 });

      const spec = { jobId: 'j2', deploymentId: 'd2', appId: 'a2', app: { name: 'a2', source: { type: 'image', image: 'x' }, port: 80 } } as JobSpec;
      const answer = await cp.sendJob(spec);
      expect(answer).toEqual({ accepted: true });
      expect(jobs).toEqual([spec]);
    } finally {
      await cp.close();
    }
  });

  it('takes a job the server pushes right after acknowledging hello, once it knows which worker it is', async () => {
    const spec = { jobId: 'j-early', deploymentId: 'd', appId: 'a', app: { name: 'a', source: { type: 'image', image: 'x' }, port: 80 } } as JobSpec;
    let answer: Promise<unknown> | undefined;
    const cp = await fakeControlPlane(0, { afterHello: (socket) => (answer = socket.timeout(2_000).emitWithAck('job', spec)) });
    try {
      const order: string[] = [];
      connect(cp.port, { onHello: () => order.push('hello'), onJob: (j) => (order.push(j.jobId), { accepted: true }) });
      await cp.waitFor((r) => r.event === 'hello');
      expect(await answer).toEqual({ accepted: true });
      expect(order).toEqual(['hello', 'j-early']);
    } finally {
      await cp.close();
    }
  });

  it('removes an app the server names right after hello, once it knows which worker it is, and acknowledges with the count', async () => {
    const answers: Promise<unknown>[] = [];
    const cp = await fakeControlPlane(0, {
      afterHello: (socket) => {
        answers.push(socket.timeout(2_000).emitWithAck('app:remove', { appId: 'a-gone' }));
        answers.push(socket.timeout(2_000).emitWithAck('app:remove', {}));
      },
    });
    try {
      const order: string[] = [];
      connect(cp.port, {
        onHello: () => order.push('hello'),
        onAppRemove: async ({ appId }) => (order.push(`remove ${appId}`), { removed: 2 }),
      });
      await cp.waitFor((r) => r.event === 'hello');
      expect(await Promise.all(answers)).toEqual([{ removed: 2 }, { removed: 0, error: 'app:remove needs an appId' }]);
      expect(order).toEqual(['hello', 'remove a-gone']);
    } finally {
      await cp.close();
    }
  });

  it('loses no result when the control plane dies before acknowledging it: resends after the restart', async () => {
    // The first control plane records job:succeeded but crashes before acknowledging it.
    const first = await fakeControlPlane(0, { withholdAckFor: (r) => r.event === 'job:succeeded' });
    const port = first.port;
    const c = connect(port);
    c.report('job:started', { jobId: 'j1', phase: 'starting' });
    c.report('job:succeeded', { jobId: 'j1', containerId: 'c1', hostPort: 20_001 });
    await first.waitFor((r) => r.event === 'job:succeeded');
    await first.close();
    // While it is down, another job finishes.
    c.report('job:failed', { jobId: 'j2', reason: 'health check failed', logTail: ['boom'] });
    expect(c.pendingMessages).toBe(2);

    const second = await fakeControlPlane(port);
    try {
      expect(await c.flush(10_000)).toBe(true);
      const events = second.received.filter((r) => r.event !== 'heartbeat').map((r) => `${r.event}:${r.msg.jobId ?? ''}`);
      expect(events).toEqual(['hello:', 'job:succeeded:j1', 'job:failed:j2']);
      expect(c.pendingMessages).toBe(0);
    } finally {
      await second.close();
    }
  });

  it('makes log followers wait while the control plane is behind, and never while it is unreachable', async () => {
    let holding = true;
    const cp = await fakeControlPlane(0, { withholdAckFor: (r) => holding && r.event === 'logs:lines' });
    const down = await fakeControlPlane();
    const downPort = down.port;
    await down.close();
    try {
      let c!: AgentConnection;
      await new Promise((resolve) => (c = connect(cp.port, { onHello: resolve, ackTimeoutMs: 300 })));
      expect(c.whenWritable()).toBeUndefined();
      const batch = { containerId: 'c1', appId: 'a1', deploymentId: 'd1', lines: [] };
      for (let i = 0; i < 3; i++) c.send('logs:lines', batch, { droppable: true, bytes: LOG_FLOW_WINDOW_BYTES / 2 + 1 });
      const wait = c.whenWritable();
      expect(wait).toBeInstanceOf(Promise);
      let released = false;
      void wait!.then(() => (released = true));
      // The first batch is with the control plane, which does not answer yet: the follower keeps waiting.
      await cp.waitFor((r) => r.event === 'logs:lines');
      expect(released).toBe(false);
      holding = false;
      await wait;
      expect(c.pendingBytes).toBeLessThanOrEqual(LOG_FLOW_WINDOW_BYTES / 2);

      // Unreachable: the outbox takes everything (and drops past its own bound); nobody waits.
      const offline = connect(downPort);
      for (let i = 0; i < 3; i++) offline.send('logs:lines', batch, { droppable: true, bytes: LOG_FLOW_WINDOW_BYTES / 2 + 1 });
      expect(offline.pendingBytes).toBeGreaterThan(LOG_FLOW_WINDOW_BYTES);
      expect(offline.whenWritable()).toBeUndefined();
    } finally {
      await cp.close();
    }
  });
});
