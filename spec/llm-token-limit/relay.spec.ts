import { MemoryStore } from '../../plugins/runtime/store/memory';
import type { Store } from '../../plugins/runtime/store/types';
import { tokenLimitMetrics } from '../../plugins/llm-token-limit';
import { recordingStore, startHarness, type Harness } from './harness';

/** llm-token-limit in the relay, in front of llm-proxy and an OpenAI mock (words = tokens in the mock's usage). */
describe('llm-token-limit in the relay', () => {
  let store: ReturnType<typeof recordingStore>;
  let h: Harness;
  let clock: number | undefined;

  beforeAll(async () => {
    store = recordingStore(new MemoryStore());
    h = await startHarness({ store, now: () => clock ?? Date.now() });
  });
  afterAll(async () => {
    await h.close();
    await store.close();
  });
  beforeEach(() => {
    h.mock.reset();
    clock = undefined;
  });

  const totalOf = async (prefix: string) => {
    const keys = [...store.keys].filter((k) => k.startsWith(`tl:${prefix}.`));
    return (await store.totals(keys)).reduce((a, b) => a + b, 0);
  };

  it('reserves the estimate, answers with rate-limit headers, then settles with the provider\'s usage', async () => {
    const config = { limits: [{ name: 'settle', limit: 10_000, window: 'hour' }] };
    const r = await h.chat({ limitConfig: config });
    expect(r.status).toBe(200);
    expect(r.headers['x-ai-ratelimit-limit-hour-settle']).toBe('10000');
    const cost = Number(r.headers['x-ai-ratelimit-query-cost']);
    expect(cost).toBeGreaterThan(20); // prompt estimate + max_tokens 20
    expect(Number(r.headers['x-ai-ratelimit-remaining-hour-settle'])).toBe(10_000 - cost);
    expect(Number(r.headers['x-ai-ratelimit-reset-hour-settle'])).toBeLessThanOrEqual(3600);
    await h.completed(h.events.length);
    const usage = r.json.usage;
    expect(await totalOf('settle')).toBe(usage.total_tokens);
    const event = h.events.at(-1)!;
    expect(event.token_limit).toMatchObject({ decision: 'allowed', settlement: 'usage', limits: [{ name: 'settle', settled: usage.total_tokens }] });
  });

  it('rejects with 429 in the OpenAI envelope naming the limit, with Retry-After, and never calls the provider', async () => {
    const config = { limits: [{ name: 'tiny', limit: 40, window: '60s', count: 'total' }] };
    clock = Date.UTC(2030, 0, 1, 12, 0, 15);
    const before = tokenLimitMetrics().decisions.rejected;
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 };
    expect((await h.chat({ limitConfig: config, body })).status).toBe(200);
    await h.completed(h.events.length);
    const r = await h.chat({ limitConfig: config, body: { ...body, max_tokens: 25 } });
    expect(r.status).toBe(429);
    expect(r.json.error).toMatchObject({ type: 'rate_limit_error', code: 'token_limit_exceeded' });
    expect(r.json.error.message).toBe('Token limit "tiny" reached: 40 tokens per 60 s. Retry after 45 s');
    expect(r.headers['retry-after']).toBe('45');
    expect(r.headers['x-ai-ratelimit-retry-after-60-tiny']).toBe('45');
    expect(r.headers['x-ai-ratelimit-limit-60-tiny']).toBe('40');
    expect(h.mock.requests).toHaveLength(1);
    expect(tokenLimitMetrics().decisions.rejected).toBe(before + 1);
    await h.completed(h.events.length);
    expect(h.events.at(-1)).toMatchObject({ status: 429, answered_by: 'llm-token-limit', token_limit: { decision: 'rejected', rejected_by: 'tiny' } });
  });

  it('says so when one request alone is larger than the limit', async () => {
    const r = await h.chat({ limitConfig: { limits: [{ name: 'small', limit: 10, window: 'minute' }] } });
    expect(r.status).toBe(429);
    expect(r.json.error.code).toBe('token_limit_request_too_large');
    expect(r.headers['retry-after']).toBeUndefined();
  });

  it('refunds the whole reservation when the provider fails', async () => {
    const config = { limits: [{ name: 'refund', limit: 10_000, window: 'day' }] };
    h.mock.setFault({ status: 500 }, 1);
    const r = await h.chat({ limitConfig: config });
    expect(r.status).toBeGreaterThanOrEqual(500);
    await h.completed(h.events.length);
    expect(await totalOf('refund')).toBe(0);
    expect(h.events.at(-1)!.token_limit).toMatchObject({ settlement: 'refund' });
  });

  it('keeps one counter per consumer and checks a consumer against each of its groups', async () => {
    const config = {
      limits: [
        { name: 'per-consumer', limit: 50, window: 'hour', by: ['consumer'] },
        { name: 'per-group', limit: 1_000, window: 'hour', by: ['consumer_group'], count: 'requests' },
      ],
    };
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 40 };
    const a = { consumer: { id: 'a' }, consumerGroups: ['g1', 'g2'] };
    const b = { consumer: { id: 'b' }, consumerGroups: ['g2'] };
    expect((await h.chat({ limitConfig: config, body, identity: a })).status).toBe(200);
    expect((await h.chat({ limitConfig: config, body, identity: a })).status).toBe(429);
    const rb = await h.chat({ limitConfig: config, body, identity: b });
    expect(rb.status).toBe(200);
    // b's group g2 already counted a's request: the smallest remaining is reported
    expect(rb.headers['x-ai-ratelimit-remaining-hour-per-group']).toBe('998');
  });

  it('counts by a request header and falls back to the client IP when it is missing', async () => {
    const config = { limits: [{ name: 'per-app', limit: 1, window: 'hour', by: ['header:x-app'], count: 'requests' }] };
    expect((await h.chat({ limitConfig: config, headers: { 'x-app': 'one' } })).status).toBe(200);
    expect((await h.chat({ limitConfig: config, headers: { 'x-app': 'two' } })).status).toBe(200);
    expect((await h.chat({ limitConfig: config, headers: { 'x-app': 'one' } })).status).toBe(429);
    expect((await h.chat({ limitConfig: config })).status).toBe(200);
    expect((await h.chat({ limitConfig: config })).status).toBe(429);
  });

  it('limits per model and counts prompt or completion tokens separately', async () => {
    const config = {
      limits: [
        { name: 'prompt', limit: 100_000, window: 'hour', by: ['model'], count: 'prompt' },
        { name: 'completion', limit: 100_000, window: 'hour', by: ['model', 'provider'], count: 'completion' },
      ],
    };
    const r = await h.chat({ limitConfig: config });
    await h.completed(h.events.length);
    expect(await totalOf('prompt')).toBe(r.json.usage.prompt_tokens);
    expect(await totalOf('completion')).toBe(r.json.usage.completion_tokens);
    expect([...store.keys].some((k) => k.startsWith('tl:completion.') && k.endsWith('m=gpt-4o-mini|p=openai'))).toBe(true);
  });

  it('settles a stream cut without usage with the prompt estimate plus the streamed text', async () => {
    const config = { limits: [{ name: 'cut', limit: 100_000, window: 'hour' }] };
    h.mock.setFault({ cutAfterChunks: 4 }, 1);
    const r = await h.chat({ limitConfig: config, body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }], stream: true } });
    expect(r.status).toBe(200);
    await h.completed(h.events.length);
    const annotation = h.events.at(-1)!.token_limit as { settlement: string; estimated_prompt_tokens: number; limits: { settled: number }[] };
    // llm-proxy counts what was streamed before the cut (usage marked estimated); the limit settles on that
    expect(h.events.at(-1)!.usage).toMatchObject({ estimated: true });
    expect(annotation.settlement).toBe('usage');
    const settled = await totalOf('cut');
    expect(settled).toBe(annotation.limits[0].settled);
    expect(settled).toBeGreaterThan(annotation.estimated_prompt_tokens);
    expect(settled).toBeLessThan(annotation.estimated_prompt_tokens + 10);
  });

  it('resets a calendar day at local midnight in the configured time zone; Retry-After counts to it', async () => {
    const config = { limits: [{ name: 'paris-day', limit: 1, window: 'day', count: 'requests', time_zone: 'Europe/Paris' }] };
    clock = Date.parse('2030-03-30T22:59:00Z'); // 23:59:00 in Paris (UTC+1), the night before DST starts
    expect((await h.chat({ limitConfig: config })).status).toBe(200);
    clock += 59_500;
    const r = await h.chat({ limitConfig: config });
    expect(r.status).toBe(429);
    expect(r.headers['retry-after']).toBe('1');
    expect(r.json.error.message).toContain('per day (Europe/Paris)');
    clock = Date.parse('2030-03-30T23:00:00Z'); // 00:00 in Paris
    expect((await h.chat({ limitConfig: config })).status).toBe(200);
    const late = await h.chat({ limitConfig: config });
    expect(late.status).toBe(429);
    // 31 March 2030 has 23 hours in Paris (clocks go forward at 02:00): the window ends 23 h after it started
    expect(late.headers['retry-after']).toBe(String(23 * 3600));
  });
});

describe('llm-token-limit when the store fails', () => {
  const hanging: Store = Object.assign(Object.create(new MemoryStore()) as Store, {
    reserve: () => new Promise<never>(() => undefined),
  });
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ store: hanging });
  });
  afterAll(() => h.close());

  it('fail open: lets the request through within the store timeout, and counts it', async () => {
    const before = tokenLimitMetrics().decisions.store_failed_open;
    const started = Date.now();
    const r = await h.chat({ limitConfig: { store_timeout_ms: 100, fail_mode: 'open', limits: [{ limit: 5, window: 'minute' }] } });
    expect(r.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(tokenLimitMetrics().decisions.store_failed_open).toBe(before + 1);
    expect(h.mock.requests).toHaveLength(1);
  });

  it('fail closed: 503 in the client\'s format within the store timeout, provider not called', async () => {
    h.mock.reset();
    const started = Date.now();
    const r = await h.chat({ limitConfig: { store_timeout_ms: 100, fail_mode: 'closed', limits: [{ limit: 5, window: 'minute' }] } });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe('token_limit_unavailable');
    expect(h.mock.requests).toHaveLength(0);
  });

  it('fail open still counts the usage afterwards, so the counters catch up when the store is back', async () => {
    const flaky = recordingStore(new MemoryStore());
    const refusing: Store & { keys: Set<string> } = Object.assign(Object.create(flaky) as Store & { keys: Set<string> }, {
      reserve: async (req: { items: { key: string }[] }) => {
        for (const item of req.items) flaky.keys.add(item.key);
        throw new Error('connection is closed');
      },
    });
    const local = await startHarness({ store: refusing });
    try {
      const r = await local.chat({ limitConfig: { store_timeout_ms: 60, fail_mode: 'open', limits: [{ name: 'catch-up', limit: 1_000, window: 'hour' }] } });
      expect(r.status).toBe(200);
      await local.completed(1);
      expect(local.events[0].token_limit).toMatchObject({ decision: 'store_failed_open', settlement: 'usage' });
      expect(await flaky.totals([...flaky.keys])).toEqual([r.json.usage.total_tokens]);
    } finally {
      await local.close();
    }
  });
});
