import { describe, expect, it } from 'vitest';
import { isPortFreeOn, isPortFreeOnAll, PortAllocator } from './port-allocator';
import { publishAddresses } from './docker-runtime';
import net from 'node:net';

describe('PortAllocator', () => {
  it('skips ports Berth containers hold, ports handed out, and ports something else listens on', async () => {
    const busy = new Set([20_003]);
    const allocator = new PortAllocator({ min: 20_000, max: 20_009 }, async (p) => !busy.has(p), () => 0.1);
    const first = await allocator.allocate(new Set([20_001, 20_002]));
    expect(first).toBe(20_004);
    const second = await allocator.allocate(new Set([20_001, 20_002]));
    expect(second).toBe(20_005);
    allocator.release(first);
    expect(await allocator.allocate(new Set([20_001, 20_002]))).toBe(20_004);
  });

  it('wraps around the range and fails clearly when nothing is free', async () => {
    const allocator = new PortAllocator({ min: 20_000, max: 20_002 }, async () => true, () => 0.99);
    expect(await allocator.allocate(new Set([20_002]))).toBe(20_000);
    await expect(allocator.allocate(new Set([20_001, 20_002]))).rejects.toThrow('no free host port in 20000-20002');
  });

  it('counts a port as free only when it is free on every address it will be published on', async () => {
    const held = net.createServer();
    await new Promise<void>((r) => held.listen({ port: 0, host: '127.0.0.1' }, r));
    const port = (held.address() as net.AddressInfo).port;
    try {
      expect(await isPortFreeOn('127.0.0.1', port)).toBe(false);
      expect(await isPortFreeOnAll(['127.0.0.1'])(port)).toBe(false);
      expect(await isPortFreeOnAll(['::1', '127.0.0.1'])(port)).toBe(false);
    } finally {
      await new Promise((r) => held.close(r));
    }
    expect(await isPortFreeOnAll(['127.0.0.1'])(port)).toBe(true);
  });
});

describe('publishAddresses', () => {
  it.each([
    [[], ['127.0.0.1']],
    [['127.0.0.1'], ['127.0.0.1']],
    [['127.0.1.1', 'localhost', '::1'], ['127.0.0.1']],
    [['0.0.0.0'], ['127.0.0.1']],
    [['::'], ['127.0.0.1']],
    [['10.8.0.2'], ['127.0.0.1', '10.8.0.2']],
    [['10.8.0.2', '10.8.0.2'], ['127.0.0.1', '10.8.0.2']],
  ])('%j publishes on %j (loopback always, never every interface)', (extra, expected) => {
    expect(publishAddresses(extra)).toEqual(expected);
  });
});
