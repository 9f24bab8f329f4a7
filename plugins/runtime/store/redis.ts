import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { errorMessage, log } from '../logger';
import { withDeadline } from './deadline';
import type { RedisStoreOptions } from './options';
import { INCR_BY, RESERVE, SETTLE, TOTALS } from './redis-scripts';
import type { ReserveRequest, ReserveResult, Store } from './types';
import { assertActuals, assertAmount, assertDuration, assertReserveRequest } from './validate';

type Client = Redis | Cluster;
type Arg = string | number;

/** The scripts registered with defineCommand (sent as EVALSHA, falling back to EVAL once per node). */
interface ScriptCommands {
  llmIncrBy(counter: string, zset: string, amount: Arg, ttlMs: Arg): Promise<string>;
  llmTotals(numKeys: number, ...keysAndArgs: Arg[]): Promise<string[]>;
  llmReserve(numKeys: number, ...keysAndArgs: Arg[]): Promise<(number | string)[]>;
  llmSettle(reservation: string, ...args: Arg[]): Promise<number>;
}

/** Reconnect delay: exponential from 50 ms, capped at 2 s; never gives up (reconnects run in the background). */
const backoff = (attempt: number): number => Math.min(50 * 2 ** Math.min(attempt, 6), 2000);

/**
 * Redis store (standalone, Sentinel or Cluster). It never waits for a connection: with the offline queue off a
 * call made while disconnected rejects at once, one made while connected rejects after commandTimeoutMs, and a
 * deadline of the same length bounds Cluster-internal retries too. Commands in flight when a connection drops are
 * not resent (a resent INCRBY would count twice).
 *
 * Cluster: every key one script touches shares the hash tag `{keyPrefix}`, so it lives in one slot (all counters
 * and reservations on one shard; plain values are spread normally).
 */
export class RedisStore implements Store {
  readonly kind = 'redis';
  private readonly client: Client;
  private readonly scripts: ScriptCommands;
  private readonly valuePrefix: string;
  private readonly tag: string;
  private readonly timeoutMs: number;
  private healthy = true;

  constructor(options: RedisStoreOptions) {
    this.valuePrefix = options.keyPrefix;
    this.tag = `{${options.keyPrefix}}`;
    this.timeoutMs = options.commandTimeoutMs;
    this.client = createClient(options);
    this.client.defineCommand('llmIncrBy', { numberOfKeys: 2, lua: INCR_BY });
    this.client.defineCommand('llmTotals', { lua: TOTALS });
    this.client.defineCommand('llmReserve', { lua: RESERVE });
    this.client.defineCommand('llmSettle', { numberOfKeys: 1, lua: SETTLE });
    this.scripts = this.client as unknown as ScriptCommands;
    // Log transitions only, not every reconnect attempt; failures reach callers as rejections.
    this.client.on('error', (err: unknown) => {
      if (!this.healthy) return;
      this.healthy = false;
      log.warn('store.redis.unavailable', { error: errorMessage(err) });
    });
    this.client.on('ready', () => {
      if (this.healthy) return;
      this.healthy = true;
      log.info('store.redis.available');
    });
  }

  async get(key: string): Promise<string | null> {
    return this.call(this.client.get(this.valuePrefix + key));
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const k = this.valuePrefix + key;
    if (ttlMs === undefined) {
      await this.call(this.client.set(k, value));
    } else {
      assertDuration('ttlMs', ttlMs);
      await this.call(this.client.set(k, value, 'PX', ttlMs));
    }
  }

  async del(key: string): Promise<void> {
    await this.call(this.client.del(this.valuePrefix + key));
  }

  async incrBy(key: string, amount: number, ttlMs: number): Promise<number> {
    assertAmount('amount', amount);
    assertDuration('ttlMs', ttlMs);
    return Number(await this.call(this.scripts.llmIncrBy(this.counterKey(key), this.zsetKey(key), amount, ttlMs)));
  }

  async reserve(req: ReserveRequest): Promise<ReserveResult> {
    assertReserveRequest(req);
    const counterKeys = (key: string) => [this.counterKey(key), this.zsetKey(key)];
    const earlier = (i: ReserveRequest['items'][number]) => i.window?.earlier ?? [];
    const keys = [this.reservationKey(req.id), ...req.items.flatMap((i) => [i.key, ...earlier(i)].flatMap(counterKeys))];
    const args = [req.id, req.ttlMs, ...req.items.flatMap((i) => [i.key, i.amount, i.limit, i.windowMs, earlier(i).length])];
    const [ok, rejectedIndex, ...totals] = (await this.call(this.scripts.llmReserve(keys.length, ...keys, ...args))).map(Number);
    return ok === 1 ? { ok: true, totals } : { ok: false, totals, rejectedIndex };
  }

  async settle(id: string, actual: Record<string, number>): Promise<boolean> {
    assertActuals(actual);
    const pairs = Object.entries(actual).flat();
    return (await this.call(this.scripts.llmSettle(this.reservationKey(id), this.tag, id, ...pairs))) === 1;
  }

  async totals(keys: string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const redisKeys = keys.flatMap((key) => [this.counterKey(key), this.zsetKey(key)]);
    return (await this.call(this.scripts.llmTotals(redisKeys.length, ...redisKeys))).map(Number);
  }

  async close(): Promise<void> {
    try {
      await withDeadline(this.client.quit(), this.timeoutMs);
    } catch {
      // unreachable or slow: drop the connection below anyway
    } finally {
      this.client.disconnect();
    }
  }

  private call<T>(command: Promise<T>): Promise<T> {
    return withDeadline(command, this.timeoutMs);
  }

  private counterKey(key: string): string {
    return `${this.tag}c:${key}`;
  }
  private zsetKey(key: string): string {
    return `${this.tag}z:${key}`;
  }
  private reservationKey(id: string): string {
    return `${this.tag}r:${id}`;
  }
}

function createClient(options: RedisStoreOptions): Client {
  const connection: RedisOptions = {
    username: options.username,
    password: options.password,
    tls: options.tls === true ? {} : options.tls || undefined,
    connectTimeout: options.connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
  };
  if (options.cluster) {
    return new Cluster(options.cluster, {
      enableOfflineQueue: false,
      clusterRetryStrategy: backoff,
      redisOptions: connection,
    });
  }
  if (options.sentinels) {
    return new Redis({ ...connection, sentinels: options.sentinels, name: options.name, retryStrategy: backoff });
  }
  return new Redis(options.url ?? '', { ...connection, retryStrategy: backoff });
}
