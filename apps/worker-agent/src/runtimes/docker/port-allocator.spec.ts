import { describe, expect, it } from 'vitest';
import { PortAllocator } from './port-allocator';

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
});
