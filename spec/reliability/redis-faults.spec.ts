import Redis from 'ioredis';
import { request } from 'undici';
import { OpenAiMock } from '../support/mock-providers/openai-mock';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { FAULT_UPSTREAM_KEY, startFaultGateway } from './support/fault-gateway';

/**
 * Redis (limits, budgets and the usage-event stream all on it) unresponsive or gone in the middle of traffic:
 * each plugin follows its fail mode within its store timeout, nothing hangs, and the usage events produced meanwhile
 * are buffered and reach the stream once Redis is back — none lost.
 */
const STREAM = 'llm:usage:reliability';
const ANSWER_BOUND_MS = 3_000; // store_timeout_ms is 150 per step: far above it, far below a hang

describe('Redis faults mid-traffic (Kong emulator, real plugin server)', () => {
  let mock: OpenAiMock;
  beforeAll(async () => {
    mock = new OpenAiMock({ apiKey: FAULT_UPSTREAM_KEY, reply: 'fine thanks' });
    await mock.start();
  });
  afterAll(() => mock.stop());

  const ask = async (gateway: Awaited<ReturnType<typeof startFaultGateway>>, stream = false) => {
    const started = Date.now();
    const res = await request(gateway.chatUrl, {
      method: 'POST',
      headers: gateway.headers,
      body: JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: 'how are you' }], max_tokens: 5 }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.body.text();
    return { status: res.statusCode, ms: Date.now() - started, text };
  };

  /** Distinct usage events in the stream: delivery is at least once (a timed-out XADD may still have been applied). */
  async function streamLength(port: number): Promise<number> {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    try {
      const entries = await client.xrange(STREAM, '-', '+');
      return new Set(entries.map(([, fields]) => JSON.parse(fields[1]).request_id)).size;
    } finally {
      client.disconnect();
    }
  }

  async function eventually(check: () => Promise<boolean>, timeoutMs = 8_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline) throw new Error('condition not reached in time');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('fail-open plugins keep serving while Redis hangs or is gone; no usage event is lost', async () => {
    const redis = await startRedisServer();
    let restarted: RedisServer | undefined;
    const env = { LLM_USAGE_SINKS: 'redis', LLM_USAGE_REDIS_URL: redis.url, LLM_USAGE_REDIS_STREAM: STREAM, LLM_USAGE_REDIS_TIMEOUT_MS: '200' };
    const gateway = await startFaultGateway(mock, { redisPort: redis.port, env });
    try {
      const sent: number[] = [];
      for (let i = 0; i < 4; i++) sent.push((await ask(gateway, i % 2 === 1)).status);
      await eventually(async () => (await streamLength(redis.port)) === 4);

      // unresponsive (SIGSTOP): every store step times out, fail_mode open lets requests through
      redis.pause();
      const hung = [];
      for (let i = 0; i < 4; i++) hung.push(await ask(gateway, i % 2 === 1));
      redis.resume();
      expect(hung.map((a) => a.status)).toEqual([200, 200, 200, 200]);
      expect(Math.max(...hung.map((a) => a.ms))).toBeLessThan(ANSWER_BOUND_MS);
      await eventually(async () => (await streamLength(redis.port)) === 8);

      // gone (process stopped), then a new empty Redis on the same port: events of the outage arrive after it
      const port = redis.port;
      await redis.stop();
      const gone = [];
      for (let i = 0; i < 4; i++) gone.push(await ask(gateway, i % 2 === 1));
      expect(gone.map((a) => a.status)).toEqual([200, 200, 200, 200]);
      expect(Math.max(...gone.map((a) => a.ms))).toBeLessThan(ANSWER_BOUND_MS);
      restarted = await startRedisServer({ port });
      const backAt = Date.now();
      const back = await ask(gateway);
      expect(back.status).toBe(200);
      await eventually(async () => (await streamLength(port)) === 5); // 4 from the outage + 1 after it
      if (process.env.SOAK_REPORT) {
        const slowest = Math.max(...hung.map((a) => a.ms), ...gone.map((a) => a.ms));
        process.stderr.write(`redis: 8 requests under outage, slowest ${slowest} ms, outage events in the stream ${Date.now() - backAt} ms after Redis returned\n`);
      }

      const events = await gateway.usageEvents();
      expect(events).toHaveLength(4 + 4 + 4 + 1);
      // the requests of both outages were let through by the fail-open store and say so
      const outage = events.slice(4, 12);
      for (const e of outage) expect(e.token_limit.decision).toBe('store_failed_open');
      expect(sent).toEqual([200, 200, 200, 200]);
    } finally {
      await gateway.stop();
      await (restarted ?? redis).stop().catch(() => undefined);
    }
  }, 60_000);

  it('fail-closed plugins refuse promptly in the client\'s envelope while Redis hangs, and recover', async () => {
    const redis = await startRedisServer();
    const gateway = await startFaultGateway(mock, { redisPort: redis.port, tokenFailMode: 'closed', costFailMode: 'closed' });
    try {
      expect((await ask(gateway)).status).toBe(200);
      redis.pause();
      const refused = [await ask(gateway), await ask(gateway, true)];
      redis.resume();
      for (const answer of refused) {
        expect(answer.status).toBe(503);
        expect(answer.ms).toBeLessThan(ANSWER_BOUND_MS);
        expect(JSON.parse(answer.text).error).toMatchObject({ type: expect.any(String), code: expect.stringMatching(/unavailable/) });
      }
      await eventually(async () => (await ask(gateway)).status === 200);
    } finally {
      await gateway.stop();
      await redis.stop();
    }
  }, 60_000);
});
