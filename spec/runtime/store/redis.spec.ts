import { Redis } from 'ioredis';
import { guardedStoreCall, resetStoreFailureCounts, storeFailureCounts } from '../../../plugins/runtime/store/guard';
import { createStore } from '../../../plugins/runtime/store/index';
import { SETTLED_TOMBSTONE_MS, type Store } from '../../../plugins/runtime/store/types';
import { freePort, startRedisServer, type RedisServer } from '../../support/redis-server';
import { storeContract, sleep, waitUntilAvailable } from './contract';

const COMMAND_TIMEOUT_MS = 300;

let contractServer: RedisServer | undefined;
storeContract(
  'redis (standalone)',
  async () => {
    contractServer = await startRedisServer();
    const store = createStore({ type: 'redis', url: contractServer.url });
    await waitUntilAvailable(store, 3000);
    return store;
  },
  async () => contractServer?.stop(),
);

async function elapsed(fn: () => Promise<unknown>): Promise<number> {
  const start = Date.now();
  await fn();
  return Date.now() - start;
}

describe('RedisStore when Redis is slow, down or unreachable', () => {
  let server: RedisServer;
  let store: Store;

  beforeAll(async () => {
    server = await startRedisServer();
    store = createStore({ type: 'redis', url: server.url, commandTimeoutMs: COMMAND_TIMEOUT_MS });
    await waitUntilAvailable(store, 3000);
  });
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });
  beforeEach(() => resetStoreFailureCounts());

  it('rejects within the command timeout while Redis is paused, and the guard reports the caller failMode', async () => {
    server.pause();
    try {
      const took = await elapsed(() => expect(store.reserve({ id: 'paused', ttlMs: 1000, items: [] })).rejects.toThrow());
      expect(took).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 20);
      expect(took).toBeLessThan(COMMAND_TIMEOUT_MS + 300);

      const slow = await guardedStoreCall(() => store.totals(['k']), { timeoutMs: 5000, failMode: 'closed' });
      expect(slow).toEqual({ ok: false, reason: 'timeout', failMode: 'closed' });

      const tight = guardedStoreCall(() => store.get('k'), { timeoutMs: 50, failMode: 'open' });
      const tookGuarded = await elapsed(() => tight);
      expect(await tight).toEqual({ ok: false, reason: 'timeout', failMode: 'open' });
      expect(tookGuarded).toBeLessThan(250);
      expect(storeFailureCounts()).toEqual({ timeout: 2, error: 0 });
    } finally {
      server.resume();
    }
    await waitUntilAvailable(store, 3000);
    expect(await guardedStoreCall(() => store.incrBy('after-pause', 2, 60_000), { timeoutMs: 1000, failMode: 'closed' })).toEqual({
      ok: true,
      value: 2,
    });
  });

  it('rejects at once while Redis is stopped and reconnects in the background when it is back', async () => {
    const port = server.port;
    await server.stop();
    await sleep(100); // let the client notice the closed connection
    const took = await elapsed(() => expect(store.incrBy('down', 1, 60_000)).rejects.toThrow());
    expect(took).toBeLessThan(COMMAND_TIMEOUT_MS + 100);
    expect(await guardedStoreCall(() => store.get('down'), { timeoutMs: 1000, failMode: 'open' })).toEqual({
      ok: false,
      reason: 'error',
      failMode: 'open',
    });
    expect(storeFailureCounts().error).toBe(1);

    server = await startRedisServer({ port });
    await waitUntilAvailable(store, 5000);
    expect(await store.incrBy('back', 3, 60_000)).toBe(3);
  });

  it('never waits for a server that was never reachable', async () => {
    const nobody = createStore({ type: 'redis', url: `redis://127.0.0.1:${await freePort()}`, commandTimeoutMs: COMMAND_TIMEOUT_MS });
    try {
      const took = await elapsed(async () => {
        await expect(nobody.get('k')).rejects.toThrow();
        await expect(nobody.reserve({ id: 'r', ttlMs: 1000, items: [{ key: 'k', amount: 1, limit: 1, windowMs: 1000 }] })).rejects.toThrow();
      });
      expect(took).toBeLessThan(COMMAND_TIMEOUT_MS + 100);
    } finally {
      const tookClose = await elapsed(() => nobody.close());
      expect(tookClose).toBeLessThan(COMMAND_TIMEOUT_MS + 100);
    }
  });
});

describe('RedisStore options', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer({ args: ['--requirepass', 'test-only-secret'] });
  });
  afterAll(async () => server?.stop());

  it('authenticates with a password and keeps stores with different key prefixes apart', async () => {
    const a = createStore({ type: 'redis', url: server.url, password: 'test-only-secret', keyPrefix: 'a:' });
    const b = createStore({ type: 'redis', url: server.url, password: 'test-only-secret', keyPrefix: 'b:' });
    try {
      await waitUntilAvailable(a, 3000);
      await waitUntilAvailable(b, 3000);
      await a.incrBy('shared', 4, 60_000);
      await a.set('shared', 'from-a');
      expect(await b.totals(['shared'])).toEqual([0]);
      expect(await b.get('shared')).toBeNull();
      expect(await a.totals(['shared'])).toEqual([4]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('fails calls with an error, not a hang, when the password is wrong', async () => {
    const store = createStore({ type: 'redis', url: server.url, password: 'wrong', commandTimeoutMs: COMMAND_TIMEOUT_MS });
    try {
      const result = await guardedStoreCall(() => store.get('k'), { timeoutMs: 2000, failMode: 'closed' });
      expect(result).toMatchObject({ ok: false, failMode: 'closed' });
    } finally {
      await store.close();
    }
  });
});

describe('RedisStore reservation records', () => {
  let server: RedisServer;
  let store: Store;

  beforeAll(async () => {
    server = await startRedisServer();
    store = createStore({ type: 'redis', url: server.url });
    await waitUntilAvailable(store, 3000);
  });
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  it('keeps a settled reservation as a small tombstone for a minute at most, not for its whole ttl', async () => {
    const items = [{ key: 'tomb-k', amount: 5, limit: 1_000, windowMs: 3_600_000 }];
    await store.reserve({ id: 'tomb-1', ttlMs: 900_000, items });
    const redis = new Redis(server.url);
    try {
      const [key] = await redis.keys('*r:tomb-1');
      expect(await redis.pttl(key)).toBeGreaterThan(800_000);
      expect(await store.settle('tomb-1', { 'tomb-k': 2 })).toBe(true);
      expect(Object.keys(await redis.hgetall(key)).sort()).toEqual(['#exp', '#settled']);
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(SETTLED_TOMBSTONE_MS);
      expect(await store.settle('tomb-1', { 'tomb-k': 99 })).toBe(true); // recognised, changes nothing
      expect(await store.totals(['tomb-k'])).toEqual([2]);
    } finally {
      redis.disconnect();
    }
  });
});
