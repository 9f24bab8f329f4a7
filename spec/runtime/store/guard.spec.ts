import { guardedStoreCall, resetStoreFailureCounts, storeFailureCounts } from '../../../plugins/runtime/store/guard';
import { MemoryStore } from '../../../plugins/runtime/store/memory';

describe('guardedStoreCall', () => {
  beforeEach(() => resetStoreFailureCounts());

  it('passes a value through', async () => {
    expect(await guardedStoreCall(async () => 42, { timeoutMs: 100, failMode: 'closed' })).toEqual({ ok: true, value: 42 });
    expect(storeFailureCounts()).toEqual({ timeout: 0, error: 0 });
  });

  it('turns a rejection or a synchronous throw into an error result with the caller failMode', async () => {
    const rejected = await guardedStoreCall(() => Promise.reject(new Error('boom')), { timeoutMs: 100, failMode: 'open' });
    const thrown = await guardedStoreCall(
      () => {
        throw new Error('sync');
      },
      { timeoutMs: 100, failMode: 'closed' },
    );
    expect(rejected).toEqual({ ok: false, reason: 'error', failMode: 'open' });
    expect(thrown).toEqual({ ok: false, reason: 'error', failMode: 'closed' });
    expect(storeFailureCounts()).toEqual({ timeout: 0, error: 2 });
  });

  it('gives up after timeoutMs on a call that never settles', async () => {
    const start = Date.now();
    const result = await guardedStoreCall(() => new Promise<never>(() => {}), { timeoutMs: 50, failMode: 'closed' });
    expect(result).toEqual({ ok: false, reason: 'timeout', failMode: 'closed' });
    expect(Date.now() - start).toBeLessThan(200);
    expect(storeFailureCounts()).toEqual({ timeout: 1, error: 0 });
  });

  it('counts an ioredis command timeout as a timeout', async () => {
    const result = await guardedStoreCall(() => Promise.reject(new Error('Command timed out')), { timeoutMs: 100, failMode: 'open' });
    expect(result).toEqual({ ok: false, reason: 'timeout', failMode: 'open' });
  });

  it('rethrows an input error instead of failing open', async () => {
    const store = new MemoryStore();
    try {
      await expect(guardedStoreCall(() => store.incrBy('k', 0.5, 1000), { timeoutMs: 100, failMode: 'open' })).rejects.toThrow(/amount/);
      expect(storeFailureCounts()).toEqual({ timeout: 0, error: 0 });
    } finally {
      await store.close();
    }
  });
});
