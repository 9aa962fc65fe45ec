import type { RoutesMessage, WorkerRoute } from '@berth/contracts';
import { noopLogger } from '@berth/core';
import { describe, expect, it } from 'vitest';
import { WorkerRoutesFeed, type RoutesTarget } from './worker-routes-feed';

function harness() {
  const routes = new Map<string, WorkerRoute[]>();
  const sent: [string, RoutesMessage][] = [];
  let failing = false;
  const feed = new WorkerRoutesFeed(async (id) => routes.get(id) ?? [], noopLogger);
  const target = (workerId: string): RoutesTarget => ({
    workerId,
    send: async (msg) => {
      if (failing) throw new Error('agent did not answer');
      sent.push([workerId, msg]);
    },
  });
  return { feed, routes, sent, target, fail: (v: boolean) => (failing = v) };
}

const r = (id: string, port: number): WorkerRoute => ({ id, hosts: [`${id}.berth.test`], upstreamPort: port });

describe('WorkerRoutesFeed', () => {
  it('given a hello / then the worker gets its whole list, even an empty one, and again on every hello', async () => {
    const h = harness();
    h.routes.set('w1', [r('a', 1)]);
    await h.feed.hello(h.target('w1'));
    await h.feed.hello(h.target('w2'));
    await h.feed.hello(h.target('w1'));
    expect(h.sent).toEqual([
      ['w1', { routes: [r('a', 1)] }],
      ['w2', { routes: [] }],
      ['w1', { routes: [r('a', 1)] }],
    ]);
  });

  it('given a change / then only workers whose routes changed are sent theirs', async () => {
    const h = harness();
    h.routes.set('w1', [r('a', 1)]);
    await h.feed.changed([h.target('w1'), h.target('w2')]);
    h.sent.length = 0;
    h.routes.set('w2', [r('b', 2)]);
    await h.feed.changed([h.target('w1'), h.target('w2')]);
    expect(h.sent).toEqual([['w2', { routes: [r('b', 2)] }]]);
  });

  it('given a send that failed / then the next change sends again', async () => {
    const h = harness();
    h.routes.set('w1', [r('a', 1)]);
    h.fail(true);
    await h.feed.changed([h.target('w1')]);
    h.fail(false);
    await h.feed.changed([h.target('w1')]);
    expect(h.sent).toEqual([['w1', { routes: [r('a', 1)] }]]);
  });
});
