import { describe, expect, it } from 'vitest';
import { RenderCache } from './render-cache';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('RenderCache', () => {
  it('renders once for concurrent and later gets until invalidated', async () => {
    const cache = new RenderCache<string>();
    let renders = 0;
    const render = async () => `body-${++renders}`;
    expect(await Promise.all([cache.get('w', render), cache.get('w', render)])).toEqual(['body-1', 'body-1']);
    expect(await cache.get('w', render)).toBe('body-1');
    cache.invalidate();
    expect(await cache.get('w', render)).toBe('body-2');
  });

  it('a render in flight when the routes change is not kept', async () => {
    const cache = new RenderCache<string>();
    const slow = deferred<string>();
    const first = cache.get('w', () => slow.promise);
    cache.invalidate();
    slow.resolve('old');
    expect(await first).toBe('old');
    expect(await cache.get('w', async () => 'new')).toBe('new');
  });

  it('a failed render is not kept', async () => {
    const cache = new RenderCache<string>();
    await expect(cache.get('w', async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(await cache.get('w', async () => 'ok')).toBe('ok');
  });

  it('peek gives only a finished, current render', async () => {
    const cache = new RenderCache<string>();
    const slow = deferred<string>();
    expect(cache.peek('w')).toBeUndefined();
    const first = cache.get('w', () => slow.promise);
    expect(cache.peek('w')).toBeUndefined();
    slow.resolve('body');
    await first;
    expect(cache.peek('w')).toBe('body');
    cache.invalidate();
    expect(cache.peek('w')).toBeUndefined();
  });

  it('peek never gives a render that was in flight when the routes changed', async () => {
    const cache = new RenderCache<string>();
    const slow = deferred<string>();
    const first = cache.get('w', () => slow.promise);
    cache.invalidate();
    slow.resolve('old');
    await first;
    expect(cache.peek('w')).toBeUndefined();
    const failed = cache.get('w', async () => Promise.reject(new Error('db down')));
    await failed.catch(() => undefined);
    expect(cache.peek('w')).toBeUndefined();
  });
});
