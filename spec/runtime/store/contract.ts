import { MAX_WINDOW_BUCKETS, type ReserveItem, type Store } from '../../../plugins/runtime/store/types';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Redis store connects in the background and fails calls until then: poll (bounded) until it answers. */
export async function waitUntilAvailable(store: Store, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      await store.get('probe');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}

/**
 * The behaviour every Store must have. `makeStore` runs once per suite; tests use fresh keys so they can share it.
 * Short TTLs (150 ms) are checked after generous sleeps, so timer jitter cannot make them flaky.
 */
export function storeContract(name: string, makeStore: () => Promise<Store>, teardown: () => Promise<void> = async () => {}) {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let seq = 0;
    const fresh = (label: string) => `${label}-${process.pid}-${Date.now()}-${++seq}`;
    const item = (key: string, amount: number, limit = 1000, windowMs = 60_000): ReserveItem => ({ key, amount, limit, windowMs });

    beforeAll(async () => {
      store = await makeStore();
    });
    afterAll(async () => {
      await store?.close();
      await teardown();
    });

    describe('values', () => {
      it('gets what was set, null when missing or deleted', async () => {
        const key = fresh('v');
        expect(await store.get(key)).toBeNull();
        await store.set(key, 'hello');
        expect(await store.get(key)).toBe('hello');
        await store.set(key, 'again');
        expect(await store.get(key)).toBe('again');
        await store.del(key);
        expect(await store.get(key)).toBeNull();
        await expect(store.del(key)).resolves.toBeUndefined();
      });

      it('expires a value after its ttl, keeps one without ttl', async () => {
        const [short, lasting] = [fresh('short'), fresh('lasting')];
        await store.set(short, 'x', 150);
        await store.set(lasting, 'y');
        expect(await store.get(short)).toBe('x');
        await sleep(300);
        expect(await store.get(short)).toBeNull();
        expect(await store.get(lasting)).toBe('y');
      });

      it('keeps values and counters apart', async () => {
        const key = fresh('ns');
        await store.incrBy(key, 5, 60_000);
        expect(await store.get(key)).toBeNull();
        await store.set(key, 'text');
        expect(await store.totals([key])).toEqual([5]);
      });

      it('rejects a bad ttl', async () => {
        await expect(store.set(fresh('v'), 'x', 0)).rejects.toThrow(RangeError);
        await expect(store.set(fresh('v'), 'x', 1.5)).rejects.toThrow(/ttlMs/);
      });
    });

    describe('incrBy', () => {
      it('adds up and reports the new total', async () => {
        const key = fresh('c');
        expect(await store.incrBy(key, 3, 60_000)).toBe(3);
        expect(await store.incrBy(key, 4, 60_000)).toBe(7);
        expect(await store.incrBy(key, 0, 60_000)).toBe(7);
        expect(await store.totals([key])).toEqual([7]);
      });

      it('sets the ttl when the key is created and never extends it', async () => {
        const key = fresh('c');
        await store.incrBy(key, 1, 250);
        await sleep(120);
        expect(await store.incrBy(key, 1, 250)).toBe(2);
        await sleep(250); // 370 ms after creation: gone although the last increment was 250 ms ago
        expect(await store.totals([key])).toEqual([0]);
        expect(await store.incrBy(key, 1, 250)).toBe(1);
      });

      it('keeps exact integers up to 2^53 - 1 (money in micro-units)', async () => {
        const key = fresh('big');
        const big = Number.MAX_SAFE_INTEGER - 10;
        expect(await store.incrBy(key, big, 60_000)).toBe(big);
        expect(await store.incrBy(key, 10, 60_000)).toBe(Number.MAX_SAFE_INTEGER);
      });
    });

    describe('reserve and totals', () => {
      it('reserves on every item and counts reservations in the totals', async () => {
        const [a, b] = [fresh('a'), fresh('b')];
        await store.incrBy(b, 5, 60_000);
        const result = await store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [item(a, 10), item(b, 20)] });
        expect(result).toEqual({ ok: true, totals: [10, 25] });
        expect(await store.totals([a, b, fresh('missing')])).toEqual([10, 25, 0]);
        expect(await store.totals([])).toEqual([]);
      });

      it('is all-or-nothing: one item over its limit reserves nothing anywhere', async () => {
        const [a, b, c] = [fresh('a'), fresh('b'), fresh('c')];
        await store.incrBy(b, 2, 60_000);
        const id = fresh('r');
        const result = await store.reserve({ id, ttlMs: 10_000, items: [item(a, 5, 10), item(b, 5, 6), item(c, 50, 10)] });
        expect(result).toEqual({ ok: false, totals: [0, 2, 0], rejectedIndex: 1 });
        expect(await store.totals([a, b, c])).toEqual([0, 2, 0]);
        expect(await store.settle(id, {})).toBe(false); // nothing was recorded
      });

      it('allows total + amount == limit and refuses one more', async () => {
        const key = fresh('edge');
        expect((await store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [item(key, 60, 100)] })).ok).toBe(true);
        expect((await store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [item(key, 40, 100)] })).ok).toBe(true);
        expect(await store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [item(key, 1, 100)] })).toEqual({
          ok: false,
          totals: [100],
          rejectedIndex: 0,
        });
      });

      it('always accepts an amount of 0, even over the limit', async () => {
        const key = fresh('zero');
        await store.incrBy(key, 500, 60_000);
        expect(await store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [item(key, 0, 100)] })).toEqual({ ok: true, totals: [500] });
      });

      it('refuses a reused reservation id', async () => {
        const id = fresh('r');
        await store.reserve({ id, ttlMs: 10_000, items: [item(fresh('k'), 1)] });
        await expect(store.reserve({ id, ttlMs: 10_000, items: [item(fresh('k'), 1)] })).rejects.toThrow(/already in use/);
      });

      it('never overshoots under concurrency: 200 parallel reserves of 10 against 1000', async () => {
        const key = fresh('race');
        const results = await Promise.all(
          Array.from({ length: 200 }, () => store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [item(key, 10, 1000)] })),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(100);
        expect(Math.max(...results.flatMap((r) => r.totals))).toBe(1000);
        expect(await store.totals([key])).toEqual([1000]);
      });

      it('counts every one of 200 parallel increments', async () => {
        const key = fresh('incr-race');
        await Promise.all(Array.from({ length: 200 }, () => store.incrBy(key, 1, 60_000)));
        expect(await store.totals([key])).toEqual([200]);
      });
    });

    describe('settle', () => {
      async function reserved(amount: number, ttlMs = 10_000) {
        const key = fresh('s');
        const id = fresh('r');
        await store.reserve({ id, ttlMs, items: [item(key, amount)] });
        return { key, id };
      }

      it('refunds everything when the key is missing from actual', async () => {
        const { key, id } = await reserved(100);
        expect(await store.settle(id, {})).toBe(true);
        expect(await store.totals([key])).toEqual([0]);
      });

      it('replaces the reservation by a smaller actual amount', async () => {
        const { key, id } = await reserved(100);
        await store.incrBy(key, 7, 60_000);
        expect(await store.settle(id, { [key]: 30 })).toBe(true);
        expect(await store.totals([key])).toEqual([37]);
      });

      it('charges more than reserved when actual is larger', async () => {
        const { key, id } = await reserved(10);
        expect(await store.settle(id, { [key]: 25, [fresh('not-reserved')]: 99 })).toBe(true);
        expect(await store.totals([key])).toEqual([25]);
      });

      it('settles each item of a multi-key reservation', async () => {
        const [a, b] = [fresh('a'), fresh('b')];
        const id = fresh('r');
        await store.reserve({ id, ttlMs: 10_000, items: [item(a, 50), item(b, 50)] });
        expect(await store.settle(id, { [a]: 20 })).toBe(true);
        expect(await store.totals([a, b])).toEqual([20, 0]);
      });

      it('is idempotent: a second settle returns true and changes nothing', async () => {
        const { key, id } = await reserved(100);
        expect(await store.settle(id, { [key]: 40 })).toBe(true);
        expect(await store.settle(id, { [key]: 90 })).toBe(true);
        expect(await store.settle(id, {})).toBe(true);
        expect(await store.totals([key])).toEqual([40]);
      });

      it('returns false for an unknown id', async () => {
        expect(await store.settle(fresh('nobody'), {})).toBe(false);
      });

      it('does not resurrect a counter whose window expired', async () => {
        const key = fresh('w');
        const id = fresh('r');
        await store.reserve({ id, ttlMs: 10_000, items: [item(key, 10, 1000, 150)] });
        await sleep(300);
        expect(await store.settle(id, { [key]: 50 })).toBe(true);
        expect(await store.totals([key])).toEqual([0]);
      });
    });

    describe('expiry', () => {
      it('subtracts a reservation not settled within its ttl, then refuses to settle it', async () => {
        const key = fresh('x');
        await store.incrBy(key, 5, 60_000);
        const id = fresh('r');
        await store.reserve({ id, ttlMs: 150, items: [item(key, 10)] });
        await store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [item(key, 20)] });
        expect(await store.totals([key])).toEqual([35]);
        await sleep(300);
        expect(await store.totals([key])).toEqual([25]);
        expect(await store.settle(id, { [key]: 10 })).toBe(false);
        expect(await store.totals([key])).toEqual([25]);
      });

      it('frees capacity when a reservation expires', async () => {
        const key = fresh('cap');
        await store.reserve({ id: fresh('r'), ttlMs: 150, items: [item(key, 100, 100)] });
        expect((await store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [item(key, 1, 100)] })).ok).toBe(false);
        await sleep(300);
        expect(await store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [item(key, 1, 100)] })).toEqual({ ok: true, totals: [1] });
      });

      it('resets a counter when its window expires and never lets an old reservation touch the new window', async () => {
        const key = fresh('win');
        await store.reserve({ id: fresh('r'), ttlMs: 450, items: [item(key, 10, 1000, 150)] });
        await sleep(250);
        expect(await store.totals([key])).toEqual([0]);
        expect((await store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [item(key, 7, 1000, 60_000)] })).totals).toEqual([7]);
        await sleep(350); // the first reservation's ttl has passed now
        expect(await store.totals([key])).toEqual([7]);
      });
    });

    describe('rolling windows (reserve against the sum of sub-buckets)', () => {
      const rolling = (key: string, earlier: string[], amount: number, limit: number, windowMs = 60_000): ReserveItem => ({
        ...item(key, amount, limit, windowMs),
        window: { earlier },
      });

      it('checks the limit against earlier sub-buckets + the current one, and reserves on the current one only', async () => {
        const [b1, b2, b3, now] = [fresh('b1'), fresh('b2'), fresh('b3'), fresh('now')];
        await store.incrBy(b1, 300, 60_000);
        await store.incrBy(b3, 200, 60_000); // b2 is missing: counts 0
        await store.incrBy(now, 100, 60_000);
        expect(await store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [rolling(now, [b1, b2, b3], 400, 1000)] })).toEqual({ ok: true, totals: [1000] });
        expect(await store.totals([b1, b2, b3, now])).toEqual([300, 0, 200, 500]);
        expect(await store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [rolling(now, [b1, b2, b3], 1, 1000)] })).toEqual({
          ok: false,
          totals: [1000],
          rejectedIndex: 0,
        });
        // the same counter without the window sees only its own total
        expect((await store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [item(now, 1, 1000)] })).totals).toEqual([501]);
      });

      it('is all-or-nothing together with plain items, and settles only the current sub-bucket', async () => {
        const [old, cur, plain] = [fresh('old'), fresh('cur'), fresh('plain')];
        await store.incrBy(old, 90, 60_000);
        const refused = await store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [item(plain, 5, 100), rolling(cur, [old], 20, 100)] });
        expect(refused).toEqual({ ok: false, totals: [0, 90], rejectedIndex: 1 });
        expect(await store.totals([plain, cur])).toEqual([0, 0]);
        const id = fresh('r');
        expect(await store.reserve({ id, ttlMs: 10_000, items: [item(plain, 5, 100), rolling(cur, [old], 10, 100)] })).toEqual({ ok: true, totals: [5, 100] });
        expect(await store.settle(id, { [cur]: 4, [plain]: 5 })).toBe(true);
        expect(await store.totals([old, cur, plain])).toEqual([90, 4, 5]);
      });

      it('frees capacity as sub-buckets expire, and subtracts expired reservations held in earlier sub-buckets', async () => {
        const [gone, held, cur] = [fresh('gone'), fresh('held'), fresh('cur')];
        await store.incrBy(gone, 50, 150); // a sub-bucket that leaves the window
        await store.incrBy(held, 10, 60_000);
        await store.reserve({ id: fresh('r'), ttlMs: 150, items: [item(held, 30)] }); // never settled
        const check = () => store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [rolling(cur, [gone, held], 0, 100)] });
        expect((await check()).totals).toEqual([90]);
        await sleep(300);
        expect((await check()).totals).toEqual([10]);
        expect(await store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [rolling(cur, [gone, held], 90, 100)] })).toEqual({ ok: true, totals: [100] });
      });

      it('never overshoots under concurrency: 200 parallel reserves of 10 against 1000 with 300 in earlier sub-buckets', async () => {
        const earlier = [fresh('e1'), fresh('e2'), fresh('e3')];
        for (const k of earlier) await store.incrBy(k, 100, 60_000);
        const cur = fresh('cur');
        const results = await Promise.all(
          Array.from({ length: 200 }, () => store.reserve({ id: fresh('r'), ttlMs: 10_000, items: [rolling(cur, earlier, 10, 1000)] })),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(70);
        expect(Math.max(...results.flatMap((r) => r.totals))).toBe(1000);
        expect(await store.totals([cur])).toEqual([700]);
      });

      it('rejects a window that repeats a key, contains its own key, or is too long', async () => {
        const cur = fresh('cur');
        const req = (earlier: string[]) => store.reserve({ id: fresh('r'), ttlMs: 1000, items: [rolling(cur, earlier, 1, 10)] });
        await expect(req([cur])).rejects.toThrow(/window/);
        await expect(req(['a', 'a'])).rejects.toThrow(/window/);
        await expect(req(Array.from({ length: MAX_WINDOW_BUCKETS + 1 }, (_, i) => `k${i}`))).rejects.toThrow(/at most/);
        expect(await store.totals([cur])).toEqual([0]);
      });
    });

    describe('input checks', () => {
      const bad = [1.5, -1, Number.NaN, Infinity, Number.MAX_SAFE_INTEGER + 1];

      it.each(bad)('incrBy rejects amount %p', async (amount) => {
        await expect(store.incrBy(fresh('bad'), amount, 60_000)).rejects.toThrow(RangeError);
      });

      it('reserve rejects a non-integer amount, a negative limit, a bad ttl or window, repeated keys', async () => {
        const key = fresh('bad');
        const req = (items: ReserveItem[], ttlMs = 1000) => store.reserve({ id: fresh('r'), ttlMs, items });
        await expect(req([item(key, 2.5)])).rejects.toThrow(/amount/);
        await expect(req([item(key, 1, -1)])).rejects.toThrow(/limit/);
        await expect(req([item(key, 1, 10, 0)])).rejects.toThrow(/windowMs/);
        await expect(req([item(key, 1)], 0.5)).rejects.toThrow(/ttlMs/);
        await expect(req([item(key, 1), item(key, 2)])).rejects.toThrow(/repeated/);
        expect(await store.totals([key])).toEqual([0]);
      });

      it('settle rejects a non-integer actual amount and changes nothing', async () => {
        const key = fresh('bad');
        const id = fresh('r');
        await store.reserve({ id, ttlMs: 10_000, items: [item(key, 10)] });
        await expect(store.settle(id, { [key]: 0.1 })).rejects.toThrow(RangeError);
        expect(await store.totals([key])).toEqual([10]);
      });
    });
  });
}
