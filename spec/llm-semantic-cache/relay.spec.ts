import { createParser } from 'eventsource-parser';
import { OpenAiMock } from '../support/mock-providers/openai-mock';
import { startRelayHarness, type RelayHarness } from '../support/relay-harness';
import { OpenAiToolMock } from '../llm-proxy/anthropic/openai-tool-mock';
import type { MemoryCacheIndex } from '../../plugins/llm-semantic-cache/memory-index';
import type { PromptsAgree } from '../../plugins/llm-semantic-cache/stage';
import { cacheMetrics } from '../../plugins/llm-semantic-cache/metrics';
import { promptsAgree } from '../../plugins/llm-semantic-cache/guards';
import { cachePluginWith, chat, consumer, memoryIndex, WordBagEmbedder } from './helpers';

const REPLY = 'Paris is the capital of France';

function sseEvents(text: string): string[] {
  const data: string[] = [];
  const parser = createParser({ onEvent: (e) => data.push(e.data) });
  parser.feed(text);
  return data;
}

/** llm-semantic-cache in the relay, in front of llm-proxy and the OpenAI mock (memory index, word-bag test embedder). */
describe('llm-semantic-cache in the relay', () => {
  let index: MemoryCacheIndex;
  let embedder: WordBagEmbedder;
  let guard: PromptsAgree;
  let h: RelayHarness<OpenAiMock>;
  let reply: string;

  beforeAll(async () => {
    index = memoryIndex();
    embedder = new WordBagEmbedder();
    h = await startRelayHarness(
      cachePluginWith({ index, embedder, promptsAgree: (a, b) => guard(a, b) }),
      new OpenAiMock({ apiKey: 'sk-up', reply: () => reply }),
    );
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    h.mock.reset();
    await index.purge();
    embedder.failing = false;
    guard = promptsAgree;
    reply = REPLY;
  });

  const post = async (config: object, body: Record<string, unknown>, who = consumer('alice'), headers: Record<string, string> = {}) => {
    const n = h.events.length;
    const r = await h.post({ pluginConfig: config, body, identity: who, headers });
    await h.completed(n + 1);
    return { ...r, event: h.events.at(-1)! };
  };

  it('answers a repeat from the exact cache: zero provider tokens, savings in the usage event, headers', async () => {
    const config = {};
    const first = await post(config, chat('What is the capital of France?'));
    expect(first.headers['x-cache-status']).toBe('Miss');
    expect(first.event.cache).toMatchObject({ status: 'miss', stored: true });
    const before = cacheMetrics();
    const second = await post(config, chat('What is the capital of France?'));
    expect(h.mock.requests).toHaveLength(1);
    expect(second.status).toBe(200);
    expect(second.headers).toMatchObject({ 'x-cache-status': 'Hit', 'x-cache-key-type': 'exact', 'x-cache-similarity': '1.0000' });
    expect(Number(second.headers['x-cache-age'])).toBeGreaterThanOrEqual(0);
    expect(second.json).toMatchObject({ object: 'chat.completion', choices: [{ message: { role: 'assistant', content: REPLY }, finish_reason: 'stop' }] });
    expect(second.json.id).not.toBe(first.json.id);
    expect(second.json.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    const saved = first.json.usage;
    expect(second.event).toMatchObject({
      answered_by: 'llm-semantic-cache',
      status: 200,
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, estimated: false },
      cache: { status: 'hit', kind: 'exact', similarity: 1, tokens_saved: saved.total_tokens, prompt_tokens_saved: saved.prompt_tokens, completion_tokens_saved: saved.completion_tokens },
    });
    const cost = second.event.cache as { micro_usd_saved: number; cost_saved_usd: string };
    expect(cost.micro_usd_saved).toBeGreaterThan(0); // gpt-4o-mini is in the shipped catalog
    expect(cacheMetrics().tokens_saved - before.tokens_saved).toBe(saved.total_tokens);
    expect(cacheMetrics().hits_by_kind.exact - before.hits_by_kind.exact).toBe(1);
  });

  it('answers a near-identical question from the semantic cache when the guards agree, and not when they refuse', async () => {
    const config = {};
    await post(config, chat('What is the capital of France?'));
    const near = await post(config, chat('what is the capital of france'));
    expect(near.headers).toMatchObject({ 'x-cache-status': 'Hit', 'x-cache-key-type': 'semantic' });
    expect(Number(near.headers['x-cache-similarity'])).toBeGreaterThan(0.99);
    expect(near.json.choices[0].message.content).toBe(REPLY);
    expect(h.mock.requests).toHaveLength(1);

    guard = () => ({ agree: false, reason: 'numbers differ' });
    const refused = await post(config, chat('What is the capital of France'));
    expect(refused.headers['x-cache-status']).toBe('Miss');
    expect(refused.event.cache).toMatchObject({ status: 'miss', guard_rejected: { reason: 'numbers differ' } });
    expect(h.mock.requests).toHaveLength(2);
  });

  it('the real guards refuse a negated question the embedder finds similar', async () => {
    const config = { threshold: 0.8 };
    await post(config, chat('Is the north bridge open today?'));
    const negated = await post(config, chat('Is the north bridge not open today?'));
    expect(negated.headers['x-cache-status']).toBe('Miss');
    const rejected = (negated.event.cache as { guard_rejected?: { similarity: number; reason: string } }).guard_rejected;
    expect(rejected?.similarity).toBeGreaterThanOrEqual(0.8);
    expect(rejected?.reason).toMatch(/negation/);
  });

  it('keeps tenants apart: another consumer misses; group scope shares within a group; shared scope across consumers', async () => {
    const byConsumer = {};
    await post(byConsumer, chat('Tell me a fact'), consumer('alice'));
    const bob = await post(byConsumer, chat('Tell me a fact'), consumer('bob'));
    expect(bob.headers['x-cache-status']).toBe('Miss');
    expect(h.mock.requests).toHaveLength(2);

    const byGroup = { scope: 'group' };
    await post(byGroup, chat('Tell me a fact'), consumer('alice', ['team-a']));
    expect((await post(byGroup, chat('Tell me a fact'), consumer('carol', ['team-a']))).headers['x-cache-status']).toBe('Hit');
    expect((await post(byGroup, chat('Tell me a fact'), consumer('dave', ['team-b']))).headers['x-cache-status']).toBe('Miss');

    const shared = { scope: 'shared' };
    await post(shared, chat('Tell me a fact'), consumer('erin'));
    expect((await post(shared, chat('Tell me a fact'), consumer('frank'))).headers['x-cache-status']).toBe('Hit');
  });

  it('bypasses anonymous callers unless the scope is shared', async () => {
    const anonymous = { consumerGroups: [] as string[] };
    const r = await post({}, chat('Hello'), anonymous);
    expect(r.headers['x-cache-status']).toBe('Bypass');
    expect(r.event.cache).toEqual({ status: 'bypass', reason: 'no_consumer' });
    await post({}, chat('Hello'), anonymous);
    expect(h.mock.requests).toHaveLength(2);
  });

  it('partitions by system prompt, earlier turns, model and answer-changing parameters', async () => {
    const config = {};
    const base = { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'Answer in French.' }, { role: 'user', content: 'Say hello' }], max_tokens: 50 };
    await post(config, base);
    const variants = [
      { ...base, messages: [{ role: 'system', content: 'Answer in German.' }, base.messages[1]] },
      { ...base, messages: [{ role: 'user', content: 'I am Bob' }, { role: 'assistant', content: 'Hi Bob' }, base.messages[1]] },
      { ...base, model: 'gpt-4o' },
      { ...base, temperature: 0.2 },
      { ...base, max_tokens: 10 },
      { ...base, response_format: { type: 'json_object' } },
      { ...base, seed: 7 },
      { ...base, stop: ['\n'] },
    ];
    for (const body of variants) expect((await post(config, body)).headers['x-cache-status']).toBe('Miss');
    expect(h.mock.requests).toHaveLength(1 + variants.length);
    // fields that do not change the answer share the entry
    expect((await post(config, { ...base, user: 'someone', stream_options: undefined })).headers['x-cache-status']).toBe('Hit');
  });

  it('Cache-Control: no-store bypasses (nothing read or written); no-cache refreshes the entry', async () => {
    const config = {};
    const noStore = await post(config, chat('Weather?'), consumer('alice'), { 'cache-control': 'no-store' });
    expect(noStore.headers['x-cache-status']).toBe('Bypass');
    expect((await post(config, chat('Weather?'))).headers['x-cache-status']).toBe('Miss');
    expect((await post(config, chat('Weather?'))).headers['x-cache-status']).toBe('Hit');
    reply = 'It is sunny';
    const refresh = await post(config, chat('Weather?'), consumer('alice'), { 'cache-control': 'no-cache' });
    expect(refresh.headers['x-cache-status']).toBe('Refresh');
    expect(refresh.json.choices[0].message.content).toBe('It is sunny');
    expect(refresh.event.cache).toMatchObject({ status: 'refresh', stored: true });
    const after = await post(config, chat('Weather?'));
    expect(after.headers['x-cache-status']).toBe('Hit');
    expect(after.json.choices[0].message.content).toBe('It is sunny');
    expect(h.mock.requests).toHaveLength(3);
  });

  it('entries expire after ttl_s, and a purge of the partition empties it', async () => {
    const config = { ttl_s: 1 };
    const first = await post(config, chat('Short lived'));
    expect((await post(config, chat('Short lived'))).headers['x-cache-status']).toBe('Hit');
    await new Promise((r) => setTimeout(r, 1100));
    expect((await post(config, chat('Short lived'))).headers['x-cache-status']).toBe('Miss');
    const partition = (first.event.cache as { partition: string }).partition;
    expect(await index.purge(partition)).toBe(1);
    expect((await post(config, chat('Short lived'))).headers['x-cache-status']).toBe('Miss');
  });

  it('never caches errors, n > 1, temperatures above max_temperature, or a stream cut before its finish', async () => {
    const config = { max_temperature: 0.5 };
    h.mock.setFault({ status: 500 }, 1);
    const failed = await post(config, chat('Flaky'));
    expect(failed.status).toBe(500);
    expect(failed.event.cache).toMatchObject({ status: 'miss', stored: false, not_stored: 'error' });
    expect((await post(config, chat('Flaky'))).headers['x-cache-status']).toBe('Miss');

    const many = await post(config, chat('Two answers', { n: 2 }));
    expect(many.event.cache).toEqual({ status: 'bypass', reason: 'n_above_1' });
    const hot = await post(config, chat('Creative', { temperature: 0.9 }));
    expect(hot.event.cache).toEqual({ status: 'bypass', reason: 'temperature' });
    expect((await post(config, chat('Creative', { temperature: 0.9 }))).headers['x-cache-status']).toBe('Bypass');

    h.mock.setFault({ cutAfterChunks: 3 }, 1);
    const cut = await post(config, chat('Cut short please', { stream: true }));
    expect(cut.event.cache).toMatchObject({ status: 'miss', stored: false });
    expect((await post(config, chat('Cut short please', { stream: true }))).headers['x-cache-status']).toBe('Miss');
  });

  it('replays a cached answer as an OpenAI stream: one finish chunk, the usage chunk when asked, [DONE]', async () => {
    const config = {};
    await post(config, chat('Stream me'));
    const r = await post(config, chat('Stream me', { stream: true, stream_options: { include_usage: true } }));
    expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(r.headers['x-cache-status']).toBe('Hit');
    const events = sseEvents(r.text);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe(REPLY);
    expect(chunks.filter((c) => c.choices[0]?.finish_reason)).toHaveLength(1);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } });
  });

  it('replays a hit to an OpenAI Responses client in the Responses format, JSON and streamed', async () => {
    const config = {};
    const ask = (stream: boolean) =>
      h.post({ pluginConfig: config, path: '/v1/responses', body: { model: 'gpt-4o-mini', input: 'Responses question', stream }, identity: consumer('alice') });
    const n = h.events.length;
    await ask(false);
    await h.completed(n + 1);
    const json = await ask(false);
    expect(json.headers['x-cache-status']).toBe('Hit');
    expect(json.json).toMatchObject({ object: 'response', status: 'completed', output: [{ type: 'message', content: [{ type: 'output_text', text: REPLY }] }] });
    const streamed = await ask(true);
    expect(streamed.headers['x-cache-status']).toBe('Hit');
    const events = sseEvents(streamed.text).map((e) => JSON.parse(e));
    expect(events.map((e) => e.type)).toContain('response.completed');
    expect(events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('')).toBe(REPLY);
    expect(streamed.text).not.toContain('chat.completion.chunk');
  });

  it('caches a streamed answer that completed, and serves it to a JSON request', async () => {
    const config = {};
    const streamed = await post(config, chat('Streamed first', { stream: true }));
    expect(streamed.event.cache).toMatchObject({ status: 'miss', stored: true });
    const r = await post(config, chat('Streamed first'));
    expect(r.headers['x-cache-status']).toBe('Hit');
    expect(r.json.choices[0]).toMatchObject({ message: { content: REPLY }, finish_reason: 'stop' });
  });

  it('fails open: an embedder failure is a miss that still stores the exact entry', async () => {
    embedder.failing = true;
    const config = {};
    const r = await post(config, chat('Embedder down'));
    expect(r.status).toBe(200);
    expect(r.event.cache).toMatchObject({ status: 'miss', reason: 'embed_failed', stored: true });
    expect((await post(config, chat('Embedder down'))).headers['x-cache-key-type']).toBe('exact');
  });
});

describe('llm-semantic-cache and tool calls', () => {
  let index: MemoryCacheIndex;
  let h: RelayHarness<OpenAiToolMock & OpenAiMock>;
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }];

  beforeAll(async () => {
    index = memoryIndex();
    h = await startRelayHarness(cachePluginWith({ index }), Object.assign(new OpenAiToolMock({ name: 'get_weather', arguments: '{"city":"Paris"}' }), { options: {} }) as unknown as OpenAiToolMock & OpenAiMock);
  });
  afterAll(() => h.close());

  const post = async (config: object, body: Record<string, unknown>) => {
    const n = h.events.length;
    const r = await h.post({ pluginConfig: config, body, identity: consumer('alice') });
    await h.completed(n + 1);
    return { ...r, event: h.events.at(-1)! };
  };

  it('does not cache an answer that calls a tool, nor the answer to a tool result, unless cache_tool_calls', async () => {
    const body = chat('Weather in Paris?', { tools });
    const first = await post({}, body);
    expect(first.json.choices[0].finish_reason).toBe('tool_calls');
    expect(first.event.cache).toMatchObject({ status: 'miss', stored: false, not_stored: 'tool_call' });
    expect((await post({}, body)).headers['x-cache-status']).toBe('Miss');

    const toolTurn = { ...body, messages: [...body.messages, { role: 'assistant', content: null, tool_calls: first.json.choices[0].message.tool_calls }, { role: 'tool', tool_call_id: 'call_t1', content: '21 °C' }] };
    expect((await post({}, toolTurn)).event.cache).toEqual({ status: 'bypass', reason: 'tool_turn' });

    const allowed = { cache_tool_calls: true };
    await post(allowed, body);
    const hit = await post(allowed, { ...body, stream: true });
    expect(hit.headers['x-cache-status']).toBe('Hit');
    const chunks = sseEvents(hit.text).slice(0, -1).map((e) => JSON.parse(e));
    const call = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? [])[0];
    expect(call).toMatchObject({ index: 0, id: 'call_t1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0].finish_reason)).toEqual(['tool_calls']);
  });
});
