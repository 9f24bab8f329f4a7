import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { request } from 'undici';
import { parseDeclarative } from '../../plugins/runtime/config/declarative';
import { KongEmulator } from '../support/kong-emulator/emulator';
import { sseFrames, TimedOpenAiMock } from './relay-harness';

const UPSTREAM_KEY = 'sk-upstream-cost-e2e';
const FIXTURE = join(__dirname, 'fixtures', 'kong.yaml');
const CHUNK_DELAY_MS = 30;
/** 120 words of 6 gpt-4o tokens each (1 token each for the mock's usage): a stream the cap cuts mid-answer. */
const LONG_REPLY = Array.from({ length: 120 }, () => 'xylophonequixotic').join(' ');

/** openai SDK → Kong emulator (key-auth, llm-cost-attribution, llm-proxy) → the real plugin server → OpenAI mock. */
describe('llm-cost-attribution end to end: openai SDK → Kong emulator → plugin server', () => {
  let mock: TimedOpenAiMock;
  let kong: KongEmulator;
  let dir: string;
  let usageLog: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-cost-e2e-'));
    usageLog = join(dir, 'usage.jsonl');
    mock = new TimedOpenAiMock({
      apiKey: UPSTREAM_KEY,
      chunkDelayMs: CHUNK_DELAY_MS,
      reply: (req) => (JSON.stringify(req.messages).includes('long') ? LONG_REPLY : 'one two three four five six'),
    });
    await mock.start();
    const config = parseDeclarative(readFileSync(FIXTURE, 'utf8').replaceAll('__POLICY__', 'policy: local'), FIXTURE);
    kong = await KongEmulator.start({
      config,
      env: { LLM_OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: UPSTREAM_KEY },
      pluginServer: { env: { LLM_USAGE_LOG: usageLog } },
    });
  });
  afterAll(async () => {
    await kong?.stop();
    await mock?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    mock.reset();
    mock.handled.length = 0;
  });

  const sdk = (route: string, headers: Record<string, string> = {}) =>
    new OpenAI({ baseURL: `${kong.url}/${route}/v1`, apiKey: 'unused', defaultHeaders: { apikey: 'team-a-key', ...headers }, maxRetries: 0 });
  const team = { 'x-team': 'data-science', 'x-env': 'dev' };
  const usageEvents = async (n: number) => {
    for (let i = 0; i < 200; i++) {
      const lines = readFileSync(usageLog, 'utf8').trim().split('\n').filter(Boolean);
      if (lines.length >= n) return lines.map((l) => JSON.parse(l));
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`fewer than ${n} usage events`);
  };

  it('prices chat and embeddings answers in X-LLM-Cost-USD, and the usage events carry the cost with the header tags', async () => {
    const client = sdk('openai', team);
    const chat = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 20 }).withResponse();
    expect(chat.data.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 6 });
    expect(chat.response.headers.get('x-llm-cost-usd')).toBe('0.000065');
    const emb = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'one two three' }).withResponse();
    expect(emb.response.headers.get('x-llm-cost-usd')).toBe('0.000001');
    const events = await usageEvents(2);
    expect(events.at(-2)).toMatchObject({
      consumer: { username: 'team-a' },
      cost: { micro_usd: 65, tags: { team: 'data-science', env: 'dev' }, attribution: { consumer: 'team-a', route: 'openai', model: 'gpt-4o' } },
    });
    expect(events.at(-1)).toMatchObject({ api: 'openai-embeddings', cost: { micro_usd: 1, tags: { team: 'data-science', env: 'dev' } } });
  });

  it('the SDK gets a RateLimitError with the budget named when the worst case does not fit, and the provider is not called', async () => {
    const client = sdk('openai', { 'x-team': 'ml', 'x-env': 'prod' });
    const error = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 110_000 })
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const e = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.code).toBe('budget_exceeded');
    expect(e.message).toBe('429 Budget exceeded for team ml in env prod: $1.00/day, $1.10 used (budget team-daily); this request may cost up to $1.10');
    expect(Number(e.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(mock.requests).toHaveLength(0);
  });

  it('stops a stream at the cap: the SDK sees a normal end with finish_reason length, one [DONE] on the wire, the upstream call aborted', async () => {
    const stream = await sdk('capped', { 'x-run': 'sdk' }).chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      messages: [{ role: 'user', content: 'a long answer please' }],
      max_tokens: 2000,
    });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('length');
    const words = text.trim().split(/\s+/).length;
    expect(words).toBeGreaterThan(5);
    expect(words).toBeLessThan(30);
    const sent = mock.requests[0].body as { max_tokens: number };
    for (let i = 0; i < 100 && mock.handled.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(mock.handled[0].ms).toBeLessThan(sent.max_tokens * CHUNK_DELAY_MS - 1000);
    const event = (await usageEvents(1)).find((ev) => ev.route?.name === 'capped' && ev.stream);
    expect(event.cost).toMatchObject({ stopped_at_cap: true, estimated: true });
    expect(event.cost.micro_usd).toBeLessThanOrEqual(1000);

    // another run (its own budget), read raw: exactly one [DONE], after the final chunk
    const raw = await request(`${kong.url}/capped/v1/chat/completions`, {
      method: 'POST',
      headers: { apikey: 'team-a-key', 'x-run': 'raw', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'long' }], max_tokens: 2000 }),
    });
    expect(raw.statusCode).toBe(200);
    const frames = sseFrames(await raw.body.text());
    expect(frames.filter((f) => f === '[DONE]')).toHaveLength(1);
    expect(frames.at(-1)).toBe('[DONE]');
    expect(frames.at(-2)).toMatchObject({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'length' }] });
  });
});
