import { createParser } from 'eventsource-parser';
import { request } from 'undici';
import { llmProxySchema } from '../../../plugins/llm-proxy/schema';
import type { PluginDefinition } from '../../../plugins/runtime/plugin-definition';
import { ContextRegistry, type RequestContext } from '../../../plugins/runtime/context';
import { RelayServer, TICKET_HEADER } from '../../../plugins/runtime/relay/relay-server';
import type { ChatChunk, RelayStage } from '../../../plugins/runtime/relay/stage';
import { TicketBook } from '../../../plugins/runtime/relay/tickets';
import { PLUGINS } from '../../../plugins/registry';
import { AnthropicMock } from '../../support/mock-providers/anthropic-mock';
import { OpenAiMock } from '../../support/mock-providers/openai-mock';

/**
 * The relay with llm-proxy and both API formats, without Kong: OpenAI clients to an Anthropic provider, Anthropic
 * clients' failures, and a stage that rewrites answers (so pass-through has to translate).
 */
const SHOUT = 'llm-semantic-cache'; // a stand-in stage registered under an existing plugin name

/** Upper-cases every streamed and non-streamed answer text: a stage that must see the answer. */
const shoutStage: RelayStage = {
  plugin: SHOUT,
  transformCompletion(_ex, completion) {
    for (const c of completion.choices) if (typeof c.message.content === 'string') c.message.content = c.message.content.toUpperCase();
  },
  chunkHooks: () => ({
    onChunk: (chunk: ChatChunk) => {
      for (const c of chunk.choices) if (typeof c.delta.content === 'string') c.delta.content = c.delta.content.toUpperCase();
      return { chunks: [chunk] };
    },
    flush: () => [],
  }),
};
const definitions: PluginDefinition[] = [...PLUGINS.filter((p) => p.name !== SHOUT), { ...PLUGINS.find((p) => p.name === SHOUT)!, relayStage: () => shoutStage } as PluginDefinition];

describe('llm-proxy relay with Anthropic formats', () => {
  const contexts = new ContextRegistry();
  const tickets = new TicketBook<RequestContext>();
  const relay = new RelayServer(tickets, definitions);
  const anthropic = new AnthropicMock({ apiKey: 'sk-ant', reply: 'one two three four', toolUse: { name: 'f', input: {} }, cacheReadTokens: 1 });
  const openai = new OpenAiMock({ apiKey: 'sk-oai', reply: 'one two three four' });
  let relayUrl: string;

  beforeAll(async () => {
    const { host, port } = await relay.listen();
    relayUrl = `http://${host}:${port}`;
    await Promise.all([anthropic.start(), openai.start()]);
  });
  afterAll(async () => {
    await relay.close();
    await Promise.all([anthropic.stop(), openai.stop()]);
    tickets.close();
    contexts.close();
  });
  beforeEach(() => {
    anthropic.reset();
    openai.reset();
  });

  const toAnthropic = () => ({ provider: 'anthropic', base_url: `${anthropic.url}/v1`, auth: { api_key: 'sk-ant' } });
  const toOpenAi = () => ({ provider: 'openai', base_url: `${openai.url}/v1`, auth: { api_key: 'sk-oai' } });

  async function call(path: string, body: unknown, config: Record<string, unknown>, opts: { shout?: boolean; method?: string } = {}) {
    const ctx = contexts.create();
    ctx.plugins.push({ name: 'llm-proxy', priority: 770, config: llmProxySchema.parse(config) });
    if (opts.shout) ctx.plugins.push({ name: SHOUT, priority: 773, config: {} });
    ctx.identity = { consumerGroups: [] };
    const res = await request(`${relayUrl}${path}`, {
      method: (opts.method ?? 'POST') as 'POST',
      headers: { [TICKET_HEADER]: tickets.issue(ctx), 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, text, json: () => JSON.parse(text) };
  }

  function sse(text: string): { event?: string; data: string }[] {
    const out: { event?: string; data: string }[] = [];
    createParser({ onEvent: (e) => out.push({ event: e.event, data: e.data }) }).feed(text);
    return out;
  }

  const chat = { model: 'claude-x', messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'hello there' }] };

  describe('OpenAI client → Anthropic provider', () => {
    it('translates the request and the JSON answer, with Anthropic headers and cache-aware usage', async () => {
      const r = await call('/v1/chat/completions', chat, toAnthropic());
      expect(r.status).toBe(200);
      expect(r.json()).toMatchObject({
        object: 'chat.completion',
        model: 'claude-x',
        choices: [{ index: 0, message: { role: 'assistant', content: 'one two three four' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, prompt_tokens_details: { cached_tokens: 1 } },
      });
      const sent = anthropic.requests[0];
      expect(sent.path).toBe('/v1/messages');
      expect(sent.headers).toMatchObject({ 'x-api-key': 'sk-ant', 'anthropic-version': '2023-06-01' });
      expect(sent.body).toEqual({ model: 'claude-x', max_tokens: 4096, system: [{ type: 'text', text: 'sys' }], messages: [{ role: 'user', content: [{ type: 'text', text: 'hello there' }] }] });
    });

    it('streams tool calls as OpenAI chunks: one finish_reason, one [DONE], usage only when asked', async () => {
      const body = { ...chat, stream: true, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] };
      for (const includeUsage of [false, true]) {
        const r = await call('/v1/chat/completions', { ...body, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) }, toAnthropic());
        const events = sse(r.text);
        expect(events.filter((e) => e.data === '[DONE]')).toHaveLength(1);
        const chunks = events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data));
        expect(chunks.filter((c) => c.choices[0]?.finish_reason)).toHaveLength(1);
        expect(chunks.find((c) => c.choices[0]?.finish_reason).choices[0].finish_reason).toBe('tool_calls');
        const args = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []).map((t: { function: { arguments: string } }) => t.function.arguments).join('');
        expect(JSON.parse(args)).toEqual({});
        expect(chunks.some((c) => c.usage)).toBe(includeUsage);
      }
    });

    it('turns overloaded (529) into 503 for OpenAI clients, and a mid-stream error event into an error chunk', async () => {
      anthropic.setFault({ status: 529 }, 1);
      const r = await call('/v1/chat/completions', chat, toAnthropic());
      expect(r.status).toBe(503);
      expect(r.json().error).toMatchObject({ message: 'mock fault: injected status 529', type: 'api_error' });

      anthropic.options.streamError = { afterFrames: 2, type: 'overloaded_error', message: 'Overloaded' };
      try {
        const s = await call('/v1/chat/completions', { ...chat, stream: true }, toAnthropic());
        const last = sse(s.text).at(-1)!;
        expect(JSON.parse(last.data).error).toMatchObject({ message: 'Overloaded', type: 'api_error' });
        expect(s.text).not.toContain('[DONE]');
      } finally {
        delete anthropic.options.streamError;
      }
    });

    it('answers 400 for what Anthropic cannot take', async () => {
      const r = await call('/v1/chat/completions', { ...chat, response_format: { type: 'json_object' } }, toAnthropic());
      expect(r.status).toBe(400);
      expect(r.json().error.message).toMatch(/response_format/);
      expect(anthropic.requests).toHaveLength(0);
    });
  });

  describe('Anthropic client', () => {
    const message = { model: 'claude-x', max_tokens: 50, messages: [{ role: 'user', content: 'hello there' }] };

    it('gets Anthropic error envelopes for bad requests and methods', async () => {
      const bad = await call('/v1/messages', '{not json', toAnthropic());
      expect(bad.status).toBe(400);
      expect(bad.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'request body is not valid JSON' } });
      const noMessages = await call('/v1/messages', { model: 'm', max_tokens: 1 }, toOpenAi());
      expect(noMessages.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      const get = await call('/v1/messages', undefined, toAnthropic(), { method: 'GET' });
      expect(get.status).toBe(405);
      expect(get.json().type).toBe('error');
    });

    it('gets an error event (and no message_stop) when the OpenAI upstream cuts the stream', async () => {
      openai.setFault({ cutAfterChunks: 3 }, 1);
      const r = await call('/v1/messages', { ...message, stream: true }, toOpenAi());
      const events = sse(r.text);
      expect(events[0].event).toBe('message_start');
      expect(events.at(-1)).toMatchObject({ event: 'error' });
      expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ type: 'error', error: { type: 'api_error' } });
      expect(events.some((e) => e.event === 'message_stop')).toBe(false);
    });

    it('pass-through: a stage that rewrites answers sees OpenAI chunks, the client still gets Anthropic events', async () => {
      const streamed = await call('/v1/messages', { ...message, stream: true }, toAnthropic(), { shout: true });
      const events = sse(streamed.text);
      const text = events.filter((e) => e.event === 'content_block_delta').map((e) => JSON.parse(e.data).delta.text).join('');
      expect(text).toBe('ONE TWO THREE FOUR');
      expect(events.map((e) => e.event).slice(-2)).toEqual(['message_delta', 'message_stop']);
      expect(JSON.parse(events.at(-2)!.data).usage).toMatchObject({ output_tokens: 4, input_tokens: 1, cache_read_input_tokens: 1 });

      const json = await call('/v1/messages', message, toAnthropic(), { shout: true });
      expect(json.json()).toMatchObject({ type: 'message', content: [{ type: 'text', text: 'ONE TWO THREE FOUR' }], stop_reason: 'end_turn' });
    });

    it('translated: the same stage rewrites an OpenAI upstream\'s answer before it becomes Anthropic\'s', async () => {
      const r = await call('/v1/messages', message, toOpenAi(), { shout: true });
      expect(r.json()).toMatchObject({ type: 'message', content: [{ type: 'text', text: 'ONE TWO THREE FOUR' }], usage: { input_tokens: 2, output_tokens: 4 } });
    });
  });
});
