import { MemoryStore } from '../../../plugins/runtime/store/memory';
import { storeContract, sleep } from './contract';

storeContract('memory', async () => new MemoryStore());

describe('MemoryStore memory bounds', () => {
  it('the background sweep removes expired values and counters nobody reads again', async () => {
    const store = new MemoryStore({ sweepIntervalMs: 20, sweepBudget: 2 });
    try {
      for (let i = 0; i < 5; i++) {
        await store.set(`v${i}`, 'x', 50);
        await store.incrBy(`c${i}`, 1, 50);
      }
      await store.set('kept', 'x');
      expect(store.size()).toMatchObject({ values: 6, counters: 5 });
      await sleep(400);
      expect(store.size()).toMatchObject({ values: 1, counters: 0 });
    } finally {
      await store.close();
    }
  });

  it('drops reservation records (settled or not) once their ttl has passed', async () => {
    const store = new MemoryStore();
    try {
      const items = [{ key: 'k', amount: 1, limit: 10, windowMs: 60_000 }];
      await store.reserve({ id: 'settled', ttlMs: 50, items });
      await store.reserve({ id: 'abandoned', ttlMs: 50, items });
      await store.settle('settled', { k: 1 });
      expect(store.size().reservations).toBe(2);
      await sleep(120);
      expect(await store.totals(['k'])).toEqual([1]);
      expect(store.size().reservations).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('remembers a settled reservation only for a short while, whatever its ttl (memory stays flat under load)', async () => {
    const store = new MemoryStore({ settledTombstoneMs: 100 });
    try {
      const items = [{ key: 'k', amount: 5, limit: 1e9, windowMs: 3_600_000 }];
      for (let i = 0; i < 20_000; i++) {
        await store.reserve({ id: `r${i}`, ttlMs: 900_000, items }); // the 15-minute default ttl
        await store.settle(`r${i}`, { k: 1 });
      }
      // the expiry heap is compacted as settled entries pile up in it
      expect(store.size().expiryQueue).toBeLessThan(2_100);
      expect(await store.settle('r19999', { k: 99 })).toBe(true); // still recognised: changes nothing
      await expect(store.reserve({ id: 'r19999', ttlMs: 900_000, items })).rejects.toThrow(/in use/);
      await sleep(150);
      expect(await store.totals(['k'])).toEqual([20_000]);
      expect(store.size().reservations).toBe(0);
      expect(await store.settle('r19999', { k: 99 })).toBe(false); // forgotten
      expect(await store.totals(['k'])).toEqual([20_000]);
    } finally {
      await store.close();
    }
  });
});
