import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { createParser } from 'eventsource-parser';
import { usageLog } from '../../support/usage-log';
import { KongEmulator } from '../../support/kong-emulator/emulator';
import { AnthropicMock } from '../../support/mock-providers/anthropic-mock';
import { OpenAiMock } from '../../support/mock-providers/openai-mock';
import { claudeCodeRequest, CLAUDE_CODE_BETAS } from './claude-code-request';
import { OpenAiToolMock } from './openai-tool-mock';

/**
 * The official @anthropic-ai/sdk (1.x) → Kong emulator (key-auth on x-api-key) → llm-proxy → an OpenAI-wire upstream
 * (translated) or an Anthropic-wire upstream (pass-through).
 */
const CONSUMER_KEY = 'team-a-demo-key';
const OPENAI_KEY = 'sk-openai-upstream-1';
const ANTHROPIC_KEY = 'sk-ant-upstream-1';
const REPLY = 'alpha beta gamma delta epsilon zeta';
const TOOL = { name: 'get_weather', input: { city: 'Paris', days: 3 } };
const tools = [{ name: TOOL.name, description: 'Weather forecast', input_schema: { type: 'object' as const, properties: { city: { type: 'string' }, days: { type: 'number' } } } }];

describe('@anthropic-ai/sdk → Kong emulator → llm-proxy', () => {
  const openai = new OpenAiMock({ apiKey: OPENAI_KEY, reply: REPLY });
  const openaiTools = new OpenAiToolMock({ name: TOOL.name, arguments: JSON.stringify(TOOL.input) });
  const anthropic = new AnthropicMock({ apiKey: ANTHROPIC_KEY, reply: REPLY, toolUse: TOOL, cacheReadTokens: 2, cacheWriteTokens: 1 });
  let kong: KongEmulator;
  let dir: string;
  let usageLogFile: string;

  const sdk = (route: string, headers: Record<string, string> = { 'x-api-key': CONSUMER_KEY }) =>
    new Anthropic({ baseURL: `${kong.url}/${route}`, apiKey: 'client-side-placeholder', defaultHeaders: headers, maxRetries: 0 });
  const lastUsageEvent = () => usageLog(usageLogFile).last();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-anthropic-'));
    usageLogFile = join(dir, 'usage.jsonl');
    const [o, t, a] = await Promise.all([openai.start(), openaiTools.start(), anthropic.start()]);
    kong = await KongEmulator.start({
      config: join(__dirname, 'fixtures', 'kong.yaml'),
      env: {
        LLM_OPENAI_BASE_URL: `${o.url}/v1`,
        OPENAI_API_KEY: OPENAI_KEY,
        LLM_OPENAI_TOOLS_BASE_URL: `${t.url}/v1`,
        LLM_ANTHROPIC_BASE_URL: `${a.url}/v1`,
        ANTHROPIC_API_KEY: ANTHROPIC_KEY,
      },
      pluginServer: { env: { LLM_USAGE_LOG: usageLogFile } },
    });
  });
  afterAll(async () => {
    await kong?.stop();
    await Promise.all([openai.stop(), openaiTools.stop(), anthropic.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    openai.reset();
    openaiTools.reset();
    anthropic.reset();
  });

  describe('to an OpenAI-compatible upstream (translated)', () => {
    it('answers a message with content, stop_reason and usage, sending the upstream an OpenAI request', async () => {
      const message = await sdk('to-openai').messages.create({
        model: 'claude-mock-1',
        max_tokens: 100,
        system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
        messages: [{ role: 'user', content: 'Say the Greek letters' }],
        stop_sequences: ['omega'],
        metadata: { user_id: 'user-42' },
      });
      expect(message).toMatchObject({ type: 'message', role: 'assistant', model: 'gpt-4o-mini', stop_reason: 'end_turn', content: [{ type: 'text', text: REPLY }] });
      expect(message.id).toMatch(/^msg_/);
      expect(message.usage).toMatchObject({ input_tokens: 6, output_tokens: 6 });
      const upstream = openai.requests[0];
      expect(upstream.path).toBe('/v1/chat/completions');
      expect(upstream.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
      expect(upstream.body).toEqual({
        model: 'gpt-4o-mini',
        max_tokens: 100,
        stop: ['omega'],
        user: 'user-42',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Say the Greek letters' },
        ],
      });
      expect(JSON.stringify(upstream.headers)).not.toContain(CONSUMER_KEY);
      expect(await lastUsageEvent()).toMatchObject({ api: 'anthropic-messages', llm_proxy: { client_api: 'anthropic-messages' }, usage: { prompt_tokens: 6, completion_tokens: 6, estimated: false } });
    });

    it('streams the full Anthropic event sequence, with output usage in message_delta', async () => {
      const stream = await sdk('to-openai').messages.create({ model: 'claude-mock-1', max_tokens: 3, messages: [{ role: 'user', content: 'hi' }], stream: true });
      const types: string[] = [];
      let text = '';
      let outputTokens = -1;
      let stopReason: string | null = null;
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
        if (event.type === 'message_delta') {
          outputTokens = event.usage.output_tokens;
          stopReason = event.delta.stop_reason;
        }
      }
      expect(text).toBe('alpha beta gamma');
      expect(stopReason).toBe('max_tokens');
      expect(outputTokens).toBe(3);
      expect(types[0]).toBe('message_start');
      expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
      expect(types.filter((t) => t === 'message_stop')).toHaveLength(1);
      expect(openai.requests[0].body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    });

    it('streams a tool call with its arguments as input_json_delta, and takes the tool result back', async () => {
      const client = sdk('to-openai-tools');
      const final = await client.messages.stream({ model: 'm', max_tokens: 100, tools, messages: [{ role: 'user', content: 'Weather in Paris?' }] }).finalMessage();
      expect(final.stop_reason).toBe('tool_use');
      const toolUse = final.content.find((b) => b.type === 'tool_use');
      expect(toolUse).toMatchObject({ type: 'tool_use', name: TOOL.name, input: TOOL.input });

      const answer = await client.messages.create({
        model: 'm',
        max_tokens: 100,
        tools,
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: final.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse!.type === 'tool_use' ? toolUse!.id : '', content: 'sunny, not JSON' }] },
        ],
      });
      expect(answer.content).toEqual([{ type: 'text', text: 'Echo: sunny, not JSON' }]);
      const sent = openaiTools.requests[1].body as { messages: unknown[] };
      expect(sent.messages.slice(1)).toEqual([
        { role: 'assistant', content: null, tool_calls: [{ id: (toolUse as { id: string }).id, type: 'function', function: { name: TOOL.name, arguments: JSON.stringify(TOOL.input) } }] },
        { role: 'tool', tool_call_id: (toolUse as { id: string }).id, content: 'sunny, not JSON' },
      ]);
    });

    it('returns upstream errors as the SDK\'s typed errors', async () => {
      openai.setFault({ status: 429, headers: { 'retry-after': '7' } }, 1);
      const err = await sdk('to-openai')
        .messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.RateLimitError);
      expect((err as InstanceType<typeof Anthropic.APIError>).type).toBe('rate_limit_error');
      expect((err as InstanceType<typeof Anthropic.APIError>).headers?.get('retry-after')).toBe('7');
    });

    it('answers count_tokens locally with the shared tokenizer', async () => {
      const count = await sdk('to-openai').messages.countTokens({ model: 'claude-mock-1', system: 'Be brief.', messages: [{ role: 'user', content: 'How many tokens is this?' }] });
      expect(count.input_tokens).toBeGreaterThan(5);
      expect(count.input_tokens).toBeLessThan(40);
      expect(openai.requests).toHaveLength(0);
    });
  });

  describe('to an Anthropic upstream (pass-through)', () => {
    it('passes the request through with unknown fields and anthropic-beta, and the answer back', async () => {
      const params = {
        model: 'claude-mock-1',
        max_tokens: 100,
        messages: [{ role: 'user' as const, content: 'Say the Greek letters' }],
        some_future_field: { keep: ['me'] },
      };
      const { data: message, response } = await sdk('to-anthropic')
        .messages.create(params as Anthropic.MessageCreateParamsNonStreaming, { headers: { 'anthropic-beta': 'context-management-2025-06-27,fine-grained-tool-streaming-2025-05-14' } })
        .withResponse();
      expect(message).toMatchObject({ content: [{ type: 'text', text: REPLY }], stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 6, cache_read_input_tokens: 2, cache_creation_input_tokens: 1 } });
      expect(response.headers.get('x-llm-provider')).toBe('anthropic');
      const upstream = anthropic.requests[0];
      expect(upstream.body).toEqual(params);
      expect(upstream.headers['anthropic-beta']).toBe('context-management-2025-06-27,fine-grained-tool-streaming-2025-05-14');
      expect(upstream.headers['x-api-key']).toBe(ANTHROPIC_KEY);
      expect(upstream.headers.authorization).toBeUndefined();
      expect(JSON.stringify(upstream.headers)).not.toContain(CONSUMER_KEY);
      expect(await lastUsageEvent()).toMatchObject({
        provider: 'anthropic',
        llm_proxy: { client_api: 'anthropic-messages', pass_through: true },
        usage: { prompt_tokens: 4, completion_tokens: 6, cached_tokens: 2, estimated: false },
      });
    });

    it('streams the upstream events through and counts input and output once', async () => {
      const stream = sdk('to-anthropic').messages.stream({ model: 'claude-mock-1', max_tokens: 100, tools, messages: [{ role: 'user', content: 'What is the weather?' }], thinking: { type: 'enabled', budget_tokens: 1024 } });
      const final = await stream.finalMessage();
      expect(final.content.map((b) => b.type)).toEqual(['thinking', 'tool_use']); // thinking survives pass-through
      expect(final.content[1]).toMatchObject({ name: TOOL.name, input: TOOL.input });
      // 4 prompt words: 2 cache reads, 1 cache write, 1 input; 7 output tokens (message_start said 1)
      expect(final.usage).toMatchObject({ input_tokens: 1, cache_read_input_tokens: 2, cache_creation_input_tokens: 1, output_tokens: 7 });
      const event = await lastUsageEvent();
      expect(event).toMatchObject({ stream: true, status: 200, usage: { prompt_tokens: 4, completion_tokens: 7, cached_tokens: 2, estimated: false } });
    });

    it('maps overloaded (529) to OverloadedError, and a mid-stream error event to an APIError', async () => {
      anthropic.setFault({ status: 529 }, 1);
      const err = await sdk('to-anthropic')
        .messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.OverloadedError);
      expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(529);

      anthropic.options.streamError = { afterFrames: 3, type: 'overloaded_error', message: 'Overloaded' };
      try {
        const stream = await sdk('to-anthropic').messages.create({ model: 'm', max_tokens: 50, messages: [{ role: 'user', content: 'one two three' }], stream: true });
        const seen: string[] = [];
        const failure = await (async () => {
          for await (const e of stream) seen.push(e.type);
        })().catch((e: unknown) => e);
        expect(failure).toBeInstanceOf(Anthropic.APIError);
        expect((failure as InstanceType<typeof Anthropic.APIError>).type).toBe('overloaded_error');
        expect(seen[0]).toBe('message_start');
      } finally {
        delete anthropic.options.streamError;
      }
    });

    it('gives 401 for a missing consumer key', async () => {
      const err = await sdk('to-anthropic', {})
        .messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
      expect(anthropic.requests).toHaveLength(0);
    });

    it('applies a PII redaction to the original request, keeping what has no OpenAI form', async () => {
      const params = {
        model: 'claude-mock-1',
        max_tokens: 100,
        system: [{ type: 'text' as const, text: 'You help.', cache_control: { type: 'ephemeral' as const } }],
        messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Write to carol.jones@contoso-mail.net today', cache_control: { type: 'ephemeral' as const } }] }],
        output_config: { effort: 'low' },
      };
      await sdk('guarded-anthropic').messages.create(params as Anthropic.MessageCreateParamsNonStreaming);
      const sent = anthropic.requests[0].body as typeof params;
      expect(JSON.stringify(sent)).not.toContain('carol.jones@contoso-mail.net');
      expect(sent.messages[0].content[0].cache_control).toEqual({ type: 'ephemeral' });
      expect(sent.system).toEqual(params.system);
      expect(sent.output_config).toEqual({ effort: 'low' });
      expect(sent.messages[0].content[0].text).toMatch(/^Write to .+ today$/);
    });
  });

  describe('a Claude-Code-shaped conversation (stream, ?beta=true, 3 cached system blocks, 12 tools, thinking)', () => {
    async function claudeCode(route: string) {
      const res = await fetch(`${kong.url}/${route}/v1/messages?beta=true`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': CONSUMER_KEY,
          'anthropic-version': '2023-06-01',
          'anthropic-beta': CLAUDE_CODE_BETAS,
          'x-app': 'cli',
        },
        body: JSON.stringify(claudeCodeRequest),
      });
      const events: { event: string; data: Record<string, unknown> }[] = [];
      const parser = createParser({ onEvent: (e) => events.push({ event: e.event ?? '', data: JSON.parse(e.data) }) });
      parser.feed(await res.text());
      return { res, events };
    }

    function expectWellFormed(events: { event: string; data: Record<string, unknown> }[]) {
      const names = events.map((e) => e.event).filter((n) => n !== 'ping');
      expect(names[0]).toBe('message_start');
      expect(names.slice(-2)).toEqual(['message_delta', 'message_stop']);
      for (const terminal of ['message_start', 'message_delta', 'message_stop']) expect(names.filter((n) => n === terminal)).toHaveLength(1);
      const starts = names.filter((n) => n === 'content_block_start').length;
      expect(names.filter((n) => n === 'content_block_stop')).toHaveLength(starts);
    }

    it('works end to end to an OpenAI-compatible upstream', async () => {
      const { res, events } = await claudeCode('to-openai');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      expectWellFormed(events);
      const text = events.filter((e) => e.event === 'content_block_delta').map((e) => (e.data.delta as { text: string }).text).join('');
      expect(text).toBe(REPLY);
      const sent = openai.requests[0].body as { messages: { role: string }[]; tools: unknown[]; user: string };
      expect(sent.messages.filter((m) => m.role === 'system')).toHaveLength(3);
      expect(sent.tools).toHaveLength(11); // the server tool (web search) has no OpenAI form
      expect(sent.user).toBe(claudeCodeRequest.metadata.user_id);
    });

    it('works end to end to an Anthropic upstream, unchanged, with the betas and ?beta=true', async () => {
      const { res, events } = await claudeCode('to-anthropic');
      expect(res.status).toBe(200);
      expectWellFormed(events);
      const upstream = anthropic.requests[0];
      expect(upstream.body).toEqual(claudeCodeRequest);
      expect(upstream.query.get('beta')).toBe('true');
      expect(upstream.headers['anthropic-beta']).toBe(CLAUDE_CODE_BETAS);
      expect(events.some((e) => e.event === 'content_block_start' && (e.data.content_block as { type: string }).type === 'thinking')).toBe(true);
    });
  });
});
