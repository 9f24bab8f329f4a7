import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { KongEmulator } from '../support/kong-emulator/emulator';
import { AnthropicMock } from '../support/mock-providers/anthropic-mock';
import { OpenAiMock } from '../support/mock-providers/openai-mock';
import { collectOpenAiStream } from '../support/openai-stream';
import { usageLog } from '../support/usage-log';

/**
 * The official SDKs → Kong emulator (key-auth) → plugin server with all five plugins on the route (PII guard,
 * semantic cache with the built-in offline embedder, token limit, cost attribution, proxy) → OpenAI mock.
 */
const UPSTREAM_KEY = 'sk-upstream-cache-e2e';
const ANTHROPIC_KEY = 'sk-ant-cache-e2e';
const CLAUDE_REPLY = 'Phone support comes with the Business plan';
const REPLY = 'You can reset it from the sign-in page';

describe('llm-semantic-cache end to end with the openai and @anthropic-ai/sdk clients', () => {
  /** Echoes what it is asked to write to: the PII guard sends it a placeholder (<EMAIL_1>), never the address. */
  const mock = new OpenAiMock({
    apiKey: UPSTREAM_KEY,
    reply: (request) => {
      const last = String(request.messages.at(-1)?.content ?? '');
      return last.startsWith('Write to ') ? `I wrote to ${last.slice('Write to '.length)}` : REPLY;
    },
  });
  const claude = new AnthropicMock({ apiKey: ANTHROPIC_KEY, reply: CLAUDE_REPLY });
  let kong: KongEmulator;
  let dir: string;
  let usageFile: string;

  const openai = (key = 'team-a-key') => new OpenAI({ baseURL: `${kong.url}/chat/v1`, apiKey: 'unused', defaultHeaders: { apikey: key }, maxRetries: 0 });
  const anthropic = (key = 'team-a-key', route = 'chat') => new Anthropic({ baseURL: `${kong.url}/${route}`, apiKey: 'client-side-placeholder', defaultHeaders: { 'x-api-key': key }, maxRetries: 0 });
  const lastEvent = () => usageLog(usageFile).last();
  const ask = (content: string) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content }] });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-cache-e2e-'));
    usageFile = join(dir, 'usage.jsonl');
    await Promise.all([mock.start(), claude.start()]);
    kong = await KongEmulator.start({
      config: join(__dirname, 'fixtures', 'kong.yaml'),
      env: { LLM_OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: UPSTREAM_KEY, LLM_ANTHROPIC_BASE_URL: `${claude.url}/v1`, ANTHROPIC_API_KEY: ANTHROPIC_KEY },
      pluginServer: { env: { LLM_USAGE_LOG: usageFile } },
    });
  });
  afterAll(async () => {
    await kong?.stop();
    await Promise.all([mock.stop(), claude.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    mock.reset();
    claude.reset();
  });

  it('openai: a miss, then the same question streamed from the cache, parsed by the SDK, with zero tokens and $0', async () => {
    const question = 'How do I reset my password on the portal?';
    const { data: first, response } = await openai().chat.completions.create(ask(question)).withResponse();
    expect(response.headers.get('x-cache-status')).toBe('Miss');
    expect(first.choices[0].message.content).toBe(REPLY);
    const stream = await openai().chat.completions.create({ ...ask(question), stream: true, stream_options: { include_usage: true } });
    const { text, finishes, usage } = await collectOpenAiStream(stream);
    expect(text).toBe(REPLY);
    expect(finishes).toEqual(['stop']);
    expect(usage).toMatchObject({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    expect(mock.requests).toHaveLength(1);
    const event = await lastEvent();
    expect(event).toMatchObject({ answered_by: 'llm-semantic-cache', usage: { total_tokens: 0 }, cache: { status: 'hit', kind: 'exact' }, cost: { micro_usd: 0 } });
    expect(event.cache.tokens_saved).toBe(first.usage!.total_tokens);
    expect(event.cache.micro_usd_saved).toBeGreaterThan(0);
    expect(event.token_limit).toBeUndefined(); // llm-token-limit never reserved for the hit
  });

  it('openai: a rephrased question is a semantic hit with the built-in embedder; another consumer misses', async () => {
    await openai().chat.completions.create(ask('What are your opening hours on Saturday?'));
    const { data, response } = await openai().chat.completions.create(ask('What are your opening hours on Saturday')).withResponse();
    expect(response.headers.get('x-cache-status')).toBe('Hit');
    expect(response.headers.get('x-cache-key-type')).toBe('semantic');
    expect(Number(response.headers.get('x-cache-similarity'))).toBeGreaterThan(0.9);
    expect(data.choices[0].message.content).toBe(REPLY);
    const other = await openai('team-b-key').chat.completions.create(ask('What are your opening hours on Saturday?')).withResponse();
    expect(other.response.headers.get('x-cache-status')).toBe('Miss');
    const negated = await openai().chat.completions.create(ask('What are your opening hours on Sunday?')).withResponse();
    expect(negated.response.headers.get('x-cache-status')).toBe('Miss');
    expect(mock.requests).toHaveLength(3);
  });

  it('anthropic: a message, then the same request streamed from the cache as the full Anthropic event sequence', async () => {
    const params = { model: 'claude-x', max_tokens: 200, messages: [{ role: 'user' as const, content: 'Which plan includes phone support?' }] };
    const first = await anthropic().messages.create(params);
    expect(first.content).toEqual([{ type: 'text', text: REPLY }]);
    const stream = anthropic().messages.stream(params);
    const types: string[] = [];
    stream.on('streamEvent', (e) => types.push(e.type));
    const final = await stream.finalMessage();
    expect(final).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'text', text: REPLY }], stop_reason: 'end_turn', usage: { input_tokens: 0, output_tokens: 0 } });
    expect(types[0]).toBe('message_start');
    expect(types.at(-1)).toBe('message_stop');
    expect(types.filter((t) => t === 'message_delta')).toHaveLength(1);
    expect(mock.requests).toHaveLength(1);
    const event = await lastEvent();
    expect(event).toMatchObject({ api: 'anthropic-messages', answered_by: 'llm-semantic-cache', cache: { status: 'hit' } });
    // and the JSON form of the hit
    const again = await anthropic().messages.create(params).withResponse();
    expect(again.response.headers.get('x-cache-status')).toBe('Hit');
    expect(again.data.content).toEqual([{ type: 'text', text: REPLY }]);
  });

  it('anthropic pass-through: a streamed answer from an Anthropic upstream is cached and replayed as JSON and as a stream', async () => {
    const params = { model: 'claude-haiku-4-5', max_tokens: 300, system: 'You are terse.', messages: [{ role: 'user' as const, content: 'Which plan has phone support?' }] };
    const streamed = await anthropic('team-a-key', 'claude').messages.stream(params).finalMessage();
    expect(streamed.content).toEqual([{ type: 'text', text: CLAUDE_REPLY }]);
    expect((await lastEvent()).cache).toMatchObject({ status: 'miss', stored: true });
    const json = await anthropic('team-a-key', 'claude').messages.create(params).withResponse();
    expect(json.response.headers.get('x-cache-status')).toBe('Hit');
    expect(json.data).toMatchObject({ type: 'message', content: [{ type: 'text', text: CLAUDE_REPLY }], stop_reason: 'end_turn' });
    const again = await anthropic('team-a-key', 'claude').messages.stream(params).finalMessage();
    expect(again.content).toEqual([{ type: 'text', text: CLAUDE_REPLY }]);
    expect(claude.requests).toHaveLength(1);
  });

  it('a hit passes the PII guard like a provider answer: the cached placeholder becomes this request\'s own address', async () => {
    const first = await openai().chat.completions.create(ask('Write to alice.smith@acmecorp.io'));
    expect(first.choices[0].message.content).toBe('I wrote to alice.smith@acmecorp.io');
    expect(mock.requests[0].body).toMatchObject({ messages: [{ content: 'Write to <EMAIL_1>' }] });
    const { data, response } = await openai().chat.completions.create(ask('Write to bob.jones@globex.de')).withResponse();
    expect(response.headers.get('x-cache-status')).toBe('Hit');
    expect(data.choices[0].message.content).toBe('I wrote to bob.jones@globex.de');
    const stream = await openai().chat.completions.create({ ...ask('Write to carol.white@initech.fr'), stream: true });
    expect((await collectOpenAiStream(stream)).text).toBe('I wrote to carol.white@initech.fr');
    expect(mock.requests).toHaveLength(1);
  });

  it('Cache-Control: no-store from the SDK bypasses the cache', async () => {
    const q = ask('Do you ship to Norway?');
    await openai().chat.completions.create(q);
    const { response } = await openai().chat.completions.create(q, { headers: { 'cache-control': 'no-store' } }).withResponse();
    expect(response.headers.get('x-cache-status')).toBe('Bypass');
    expect(mock.requests).toHaveLength(2);
  });
});
