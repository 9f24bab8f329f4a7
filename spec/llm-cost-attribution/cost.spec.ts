import { PriceBook, catalogSchema, shippedPriceCatalog } from '../../plugins/llm-cost-attribution/catalog';
import { completionTokensWithin, costOf, dollars, usdString, worstCaseCost, type CostUsage } from '../../plugins/llm-cost-attribution/cost';

/**
 * Hand-computed costs, one row per provider usage shape, in the normalised convention (cost.ts): promptTokens
 * includes cache reads and writes, completionTokens includes reasoning. Prices are USD per million tokens, so
 * tokens × price = micro-USD; each request is rounded up to a whole micro-USD.
 */
const book = new PriceBook(shippedPriceCatalog(), [
  { model: 'llama3', input: 0.1, output: 0.2 },
  { provider: 'openai', model: 'gpt-4o-mini', input: 0.15, output: 0.6, cached_input: 0.075 },
]);

const table: [string, string | undefined, string, CostUsage, number][] = [
  // OpenAI chat: prompt_tokens 1000 incl. prompt_tokens_details.cached_tokens 400: 600×2.5 + 400×1.25 + 500×10
  ['OpenAI gpt-4o with cached prompt', 'openai', 'gpt-4o', { promptTokens: 1000, cachedTokens: 400, completionTokens: 500 }, 7000],
  // dated snapshot resolves to its family's price
  ['OpenAI dated alias', 'openai', 'gpt-4o-2024-08-06', { promptTokens: 1000, completionTokens: 500 }, 7500],
  // the 2024-05-13 snapshot has its own (higher) price: 1000×5 + 500×15
  ['OpenAI snapshot with own price', 'openai', 'gpt-4o-2024-05-13', { promptTokens: 1000, completionTokens: 500 }, 12500],
  // 210×0.15 + 1024×0.075 + 77×0.6 = 31.5 + 76.8 + 46.2 = 154.5 → 155 (rounded up)
  ['OpenAI gpt-4o-mini, fractional micro-USD', 'openai', 'gpt-4o-mini', { promptTokens: 1234, cachedTokens: 1024, completionTokens: 77 }, 155],
  // o-series: completion_tokens 3000 incl. reasoning_tokens 2500, all at the output price: 2000×2 + 3000×8
  ['OpenAI o3 with reasoning tokens', 'openai', 'o3', { promptTokens: 2000, completionTokens: 3000, reasoningTokens: 2500 }, 28000],
  // Anthropic: input_tokens 100, cache_read_input_tokens 5000, cache_creation_input_tokens 2000, output_tokens 300
  // → prompt 7100: 100×3 + 5000×0.3 + 2000×3.75 + 300×15
  ['Anthropic claude-sonnet-4 with cache read and write', 'anthropic', 'claude-sonnet-4-20250514', { promptTokens: 7100, cachedTokens: 5000, cacheWriteTokens: 2000, completionTokens: 300 }, 13800],
  // above 200k prompt tokens the whole request is priced at the long-context tier: 250000×6 + 1000×22.5
  ['Anthropic long-context tier', 'anthropic', 'claude-sonnet-4', { promptTokens: 250_000, completionTokens: 1000 }, 1_522_500],
  // Gemini: promptTokenCount 10000 incl. cachedContentTokenCount 4000; candidates 500 + thoughts 1500 = 2000
  ['Gemini 2.5 Pro with cache and thinking', 'gemini', 'gemini-2.5-pro', { promptTokens: 10_000, cachedTokens: 4000, completionTokens: 2000, reasoningTokens: 1500 }, 28000],
  ['Gemini 2.5 Pro above 200k', 'gemini', 'gemini-2.5-pro', { promptTokens: 300_000, completionTokens: 100 }, 751_500],
  // Mistral: usage.prompt_tokens / completion_tokens, no caching
  ['Mistral large', 'mistral', 'mistral-large-latest', { promptTokens: 1000, completionTokens: 1000 }, 8000],
  // Cohere: meta.billed_units.input_tokens / output_tokens
  ['Cohere command-r', 'cohere', 'command-r-08-2024', { promptTokens: 1000, completionTokens: 500 }, 450],
  // Bedrock Converse: inputTokens 500 + cacheReadInputTokens 200 + cacheWriteInputTokens 300; regional profile prefix
  ['Bedrock Claude 3.5 Haiku via us. profile', 'bedrock', 'us.anthropic.claude-3-5-haiku-20241022-v1:0', { promptTokens: 1000, cachedTokens: 200, cacheWriteTokens: 300, completionTokens: 100 }, 1116],
  // embeddings: input only (completion ignored even if a shape reports one)
  ['OpenAI embeddings', 'openai', 'text-embedding-3-small', { promptTokens: 10_000, completionTokens: 0 }, 200],
  ['Bedrock Titan embeddings', 'bedrock', 'amazon.titan-embed-text-v2:0', { promptTokens: 5000, completionTokens: 7 }, 100],
  // config override for a self-hosted model, any provider: 1000×0.1 + 1000×0.2
  ['config price, openai-compatible', 'openai-compatible', 'llama3', { promptTokens: 1000, completionTokens: 1000 }, 300],
];

describe('cost per request', () => {
  it.each(table)('%s', (_name, provider, model, usage, expected) => {
    const price = book.lookup(provider, model);
    expect(price).toBeDefined();
    expect(costOf(usage, price!).microUsd).toBe(expected);
  });

  it('never trusts inconsistent counts: cached and cache writes are capped by the prompt, reasoning by the completion', () => {
    const price = book.lookup('openai', 'gpt-4o')!;
    // cached 5000 of a 1000-token prompt counts 1000 cached; reasoning 900 of 500 counts 500
    expect(costOf({ promptTokens: 1000, cachedTokens: 5000, completionTokens: 500, reasoningTokens: 900 }, price).microUsd).toBe(1250 + 5000);
    expect(costOf({ promptTokens: -5, completionTokens: Number.NaN }, price).microUsd).toBe(0);
  });

  it('prices reasoning apart when an entry says so', () => {
    const custom = new PriceBook(shippedPriceCatalog(), [{ model: 'thinker', input: 1, output: 2, reasoning: 4 }]);
    // 100×1 + 50×2 + 50×4
    expect(costOf({ promptTokens: 100, completionTokens: 100, reasoningTokens: 50 }, custom.lookup(undefined, 'thinker')!).microUsd).toBe(400);
  });

  it('worst case: no cache discount, the dearest input rate, every completion token at the dearest output rate', () => {
    const sonnet = book.lookup('anthropic', 'claude-sonnet-4')!;
    // 1000 × max(3, 3.75, 0.3) + 2000 × 15
    expect(worstCaseCost(1000, 2000, sonnet)).toBe(3750 + 30000);
    // what fits in $0.01 after that prompt: (10000 - 3750) / 15 = 416.67 → 416
    expect(completionTokensWithin(10_000, 1000, sonnet)).toBe(416);
    // the actual cost never exceeds the worst case for any split of the same token counts
    for (const cached of [0, 500, 1000]) {
      expect(costOf({ promptTokens: 1000, cachedTokens: cached, cacheWriteTokens: 1000 - cached, completionTokens: 2000 }, sonnet).microUsd).toBeLessThanOrEqual(33750);
    }
  });

  it('formats money exactly', () => {
    expect(usdString(7000)).toBe('0.007000');
    expect(usdString(50_130_000)).toBe('50.130000');
    expect(dollars(50_126_000)).toBe('$50.13');
  });

  it('has the same overriding order as documented: config before catalog, provider-specific before any-provider', () => {
    const b = new PriceBook(shippedPriceCatalog(), [{ model: 'gpt-4o', input: 1, output: 1 }]);
    expect(b.lookup('openai', 'gpt-4o')!.source).toBe('config');
    expect(book.lookup('openai', 'gpt-4o')!.source).toBe(`catalog:${shippedPriceCatalog().version}`);
    expect(book.lookup('openai', 'no-such-model')).toBeUndefined();
  });
});

describe('shipped price catalog', () => {
  const catalog = shippedPriceCatalog();

  it('is valid and every entry names its source and effective date', () => {
    expect(() => catalogSchema.parse(catalog)).not.toThrow();
    for (const e of catalog.models) {
      expect(e.source).toMatch(/^https:\/\//);
      expect(e.effective_date).toMatch(/^20\d\d-\d\d-\d\d$/);
    }
  });

  it('covers the providers and model families the issue names', () => {
    const models = (p: string) => catalog.models.filter((m) => m.provider === p).map((m) => m.model);
    expect(models('openai')).toEqual(expect.arrayContaining(['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'o3', 'o4-mini', 'text-embedding-3-small']));
    expect(models('anthropic').length).toBeGreaterThanOrEqual(8);
    expect(catalog.models.filter((m) => m.provider === 'anthropic').every((m) => m.cache_write !== undefined && m.cached_input !== undefined)).toBe(true);
    for (const p of ['gemini', 'mistral', 'cohere', 'bedrock']) expect(models(p).length).toBeGreaterThanOrEqual(4);
  });

  it('has no name that resolves to two entries', () => {
    const seen = new Map<string, string>();
    for (const e of catalog.models) {
      for (const name of [e.model, ...e.aliases]) {
        const key = `${e.provider}/${name}`;
        expect(seen.has(key)).toBe(false);
        seen.set(key, e.model);
      }
    }
  });
});
