import { MemoryStore } from '../../plugins/runtime/store/memory';
import { shippedPriceCatalog } from '../../plugins/llm-cost-attribution/catalog';
import { recordingStore, sseFrames, startCostHarness, type CostHarness } from './relay-harness';

/**
 * llm-cost-attribution in the relay, in front of llm-proxy and an OpenAI mock (mock tokens are words: "hello there"
 * = 2 prompt tokens; gpt-4o = $2.50 input, $10 output per million tokens = 2.5 and 10 micro-USD per token).
 */
describe('llm-cost-attribution in the relay', () => {
  let store: ReturnType<typeof recordingStore>;
  let h: CostHarness;
  const catalogVersion = shippedPriceCatalog().version;
  const teamHeaders = { 'x-team': 'data-science', 'x-env': 'dev' };
  const tags = [
    { name: 'team', header: 'x-team' },
    { name: 'env', header: 'x-env' },
  ];

  beforeAll(async () => {
    store = recordingStore(new MemoryStore());
    h = await startCostHarness({ store }, { chunkDelayMs: 30 });
  });
  afterAll(async () => {
    await h.close();
    await store.close();
  });
  beforeEach(() => {
    h.mock.reset();
    h.mock.handled.length = 0;
  });

  const budgetTotal = async (budget: string) => {
    const keys = [...store.keys].filter((k) => k.startsWith(`cost:b:${budget}:`));
    return (await store.totals(keys)).reduce((a, b) => a + b, 0);
  };

  it('adds X-LLM-Cost-USD to a non-streamed chat answer, and the usage event carries the cost with the header tags', async () => {
    const config = { tags };
    const r = await h.call({ costConfig: config, headers: teamHeaders, identity: { consumer: { id: 'c1', username: 'alice' }, consumerGroups: ['gold'] } });
    expect(r.status).toBe(200);
    expect(r.json.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 6 });
    expect(r.headers['x-llm-cost-usd']).toBe('0.000065'); // 2 × 2.5 + 6 × 10 micro-USD
    expect(r.headers['x-llm-price-catalog']).toBe(catalogVersion);
    await h.completed(h.events.length);
    expect(h.events.at(-1)).toMatchObject({
      status: 200,
      cost: {
        usd: '0.000065',
        micro_usd: 65,
        estimated: false,
        price_source: `catalog:${catalogVersion}`,
        tags: { team: 'data-science', env: 'dev' },
        attribution: { consumer: 'alice', consumer_groups: ['gold'], route: 'chat', service: 'openai', provider: 'openai', model: 'gpt-4o' },
      },
    });
  });

  it('adds X-LLM-Cost-USD to an embeddings answer (input tokens only, rounded up to a micro-USD)', async () => {
    const r = await h.call({
      costConfig: { tags },
      path: '/v1/embeddings',
      body: { model: 'text-embedding-3-small', input: 'one two three' },
      headers: teamHeaders,
    });
    expect(r.status).toBe(200);
    expect(r.json.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    expect(r.headers['x-llm-cost-usd']).toBe('0.000001'); // 3 × $0.02/M = 0.06 micro-USD, rounded up
    await h.completed(h.events.length);
    expect(h.events.at(-1)).toMatchObject({ api: 'openai-embeddings', cost: { micro_usd: 1, tags: { team: 'data-science', env: 'dev' } } });
  });

  describe('budgets', () => {
    const budgetConfig = (extra: Record<string, unknown> = {}) => ({
      tags,
      budgets: [{ name: 'team-daily', amount_usd: 1, period: 'day', by: ['tag:team', 'tag:env'] }],
      ...extra,
    });
    const dear = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 110_000 };

    it('refuses with 429 in the OpenAI envelope naming the budget, Retry-After, and never calls the provider', async () => {
      const config = budgetConfig();
      expect((await h.call({ costConfig: config, headers: teamHeaders })).status).toBe(200);
      await h.completed(h.events.length);
      const r = await h.call({ costConfig: config, headers: teamHeaders, body: dear });
      expect(r.status).toBe(429);
      expect(r.json.error).toEqual({
        message: 'Budget exceeded for team data-science in env dev: $1.00/day, $1.10 used (budget team-daily); this request may cost up to $1.10',
        type: 'rate_limit_error',
        param: null,
        code: 'budget_exceeded',
      });
      const retryAfter = Number(r.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(86_400);
      expect(h.mock.requests).toHaveLength(1);
      await h.completed(h.events.length);
      expect(h.events.at(-1)).toMatchObject({ status: 429, answered_by: 'llm-cost-attribution', cost: { micro_usd: 0, rejected_by_budget: 'team-daily' } });
      // the refused reservation left nothing behind: only the first call's 65 micro-USD are counted
      expect(await budgetTotal('team-daily')).toBe(65);
    });

    it('answers 402 when configured', async () => {
      const r = await h.call({ costConfig: budgetConfig({ over_budget_status: 402 }), headers: { ...teamHeaders, 'x-team': 'web' }, body: dear });
      expect(r.status).toBe(402);
      expect(r.json.error.code).toBe('budget_exceeded');
      expect(r.json.error.message).toMatch(/^Budget exceeded for team web in env dev: \$1\.00\/day/);
      expect(h.mock.requests).toHaveLength(0);
    });
  });

  describe('stop_stream_at_cap', () => {
    // every word of this reply is 6 tokens for gpt-4o's tokenizer (1 for the mock), so the cap falls mid-answer
    const WORDS = 120;
    const reply = Array.from({ length: WORDS }, () => 'xylophonequixotic').join(' ');
    const capConfig = {
      stop_stream_at_cap: true,
      budgets: [{ name: 'stream-cap', amount_usd: 0.001, period: 'day' }],
    };
    let replyBefore: unknown;
    beforeAll(() => {
      replyBefore = h.mock.options.reply;
      h.mock.options.reply = reply;
    });
    afterAll(() => {
      h.mock.options.reply = replyBefore as string;
    });

    it('ends a stream that would cross the cap with a final chunk and one [DONE], aborts the provider call, settles within the cap', async () => {
      const body = { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hello there' }], max_tokens: 2000 };
      const started = h.events.length;
      const r = await h.call({ costConfig: capConfig, body });
      expect(r.status).toBe(200);
      const frames = sseFrames(r.text);
      expect(frames.at(-1)).toBe('[DONE]');
      expect(frames.filter((f) => f === '[DONE]')).toHaveLength(1);
      const chunks = frames.slice(0, -1) as { object: string; choices: { delta: { content?: string }; finish_reason: string | null }[] }[];
      expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
      const last = chunks.at(-1)!;
      expect(last.choices).toEqual([{ index: 0, delta: {}, finish_reason: 'length' }]);
      expect(chunks.slice(0, -1).every((c) => c.choices[0].finish_reason === null)).toBe(true);
      const streamedWords = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('').trim().split(/\s+/).length;
      expect(streamedWords).toBeGreaterThan(5);
      expect(streamedWords).toBeLessThan(30); // ≈ (1000 − prompt) / 10 micro-USD per token / 6 tokens per word

      // the provider was asked for what fits, and its stream was cut long before it would have ended
      const sent = h.mock.requests[0].body as { max_tokens: number; max_completion_tokens?: number };
      expect(sent.max_completion_tokens).toBeUndefined(); // the client's own field is lowered, not a second one added
      expect(sent.max_tokens).toBeLessThan(100);
      await h.completed(started + 1);
      for (let i = 0; i < 100 && h.mock.handled.length === 0; i++) await new Promise((res) => setTimeout(res, 10));
      const fullStreamMs = sent.max_tokens * 30;
      expect(h.mock.handled[0].ms).toBeLessThan(fullStreamMs - 1000);

      const event = h.events.at(-1)!;
      expect(event).toMatchObject({ stream: true, cost: { stopped_at_cap: true, estimated: true } });
      const cost = event.cost as { micro_usd: number; reserved_micro_usd: number };
      expect(cost.micro_usd).toBeLessThanOrEqual(1000);
      expect(cost.reserved_micro_usd).toBeLessThanOrEqual(1000);
      const settled = await budgetTotal('stream-cap');
      expect(settled).toBe(cost.micro_usd);
      expect(settled).toBeLessThanOrEqual(1000);
      expect(settled).toBeGreaterThan(1000 - 6 * 10 - 10); // stopped within one word of the cap
    });
  });
});
