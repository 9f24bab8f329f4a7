import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { AnthropicMock } from '../../support/mock-providers/anthropic-mock';
import { OpenAiMock } from '../../support/mock-providers/openai-mock';
import { OpenAiToolMock } from '../anthropic/openai-tool-mock';
import { startProxyRelay, type ProxyRelay } from './proxy-relay';

/**
 * The official openai SDK (6.x) `client.responses` → the relay's llm-proxy → an OpenAI chat upstream or an
 * Anthropic upstream: the Responses API translated both ways, streamed and not.
 */
const REPLY = 'alpha beta gamma delta epsilon zeta';
const TOOL = { name: 'get_weather', input: { city: 'Paris', days: 3 } };
const weatherTool = {
  type: 'function' as const,
  name: TOOL.name,
  description: 'Weather forecast',
  parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'number' } }, required: ['city', 'days'], additionalProperties: false },
  strict: true,
};

describe('openai SDK responses → llm-proxy → any provider', () => {
  const openai = new OpenAiMock({ apiKey: 'sk-oai', reply: REPLY, cachedPromptTokens: 2 });
  const tools = new OpenAiToolMock({ name: TOOL.name, arguments: JSON.stringify(TOOL.input) });
  const anthropic = new AnthropicMock({ apiKey: 'sk-ant', reply: REPLY, toolUse: TOOL, cacheReadTokens: 1 });
  let relay: ProxyRelay;

  const client = (config: Record<string, unknown>) => new OpenAI({ baseURL: `${relay.url}/v1`, apiKey: 'unused', maxRetries: 0, fetch: relay.fetchFor(config) });
  const toOpenAi = () => client({ provider: 'openai', base_url: `${openai.url}/v1`, auth: { api_key: 'sk-oai' } });
  const toTools = () => client({ provider: 'openai-compatible', base_url: `${tools.url}/v1` });
  const toAnthropic = () => client({ provider: 'anthropic', base_url: `${anthropic.url}/v1`, auth: { api_key: 'sk-ant' } });

  beforeAll(async () => void (relay = await startProxyRelay([openai, tools, anthropic])));
  afterAll(() => relay.close());
  beforeEach(() => relay.resetMocks());

  async function collect(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    return events;
  }

  it('answers a Response object with the text, the request echoed and exact usage, sending a chat request upstream', async () => {
    const before = relay.events.length;
    const response = await toOpenAi().responses.create({
      model: 'gpt-4o-mini',
      instructions: 'Be brief.',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'Say the Greek letters' }] }],
      max_output_tokens: 50,
      temperature: 0.2,
      metadata: { ticket: 'T-1' },
      user: 'user-42',
    });
    expect(response).toMatchObject({
      object: 'response',
      status: 'completed',
      model: 'gpt-4o-mini',
      instructions: 'Be brief.',
      max_output_tokens: 50,
      temperature: 0.2,
      metadata: { ticket: 'T-1' },
      incomplete_details: null,
      error: null,
      output: [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: REPLY, annotations: [] }] }],
      usage: { input_tokens: 6, input_tokens_details: { cached_tokens: 2 }, output_tokens: 6, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 12 },
    });
    expect(response.id).toMatch(/^resp_/);
    expect(response.output[0].id).toMatch(/^msg_/);
    expect(response.output_text).toBe(REPLY);
    expect(openai.requests[0].path).toBe('/v1/chat/completions');
    expect(openai.requests[0].body).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say the Greek letters' },
      ],
      max_completion_tokens: 50,
      temperature: 0.2,
      user: 'user-42',
    });
    await relay.completed(before + 1);
    expect(relay.events.at(-1)).toMatchObject({ api: 'openai-responses', llm_proxy: { client_api: 'openai-responses' }, usage: { prompt_tokens: 6, completion_tokens: 6, estimated: false } });
  });

  it('marks an answer cut by max_output_tokens incomplete, and sends json_schema as response_format', async () => {
    const response = await toOpenAi().responses.create({
      model: 'gpt-4o-mini',
      input: 'Say the Greek letters',
      max_output_tokens: 3,
      text: { format: { type: 'json_schema', name: 'letters', schema: { type: 'object', properties: {} }, strict: true } },
    });
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(response.output_text).toBe('alpha beta gamma');
    expect(openai.requests[0].body).toMatchObject({
      max_completion_tokens: 3,
      response_format: { type: 'json_schema', json_schema: { name: 'letters', schema: { type: 'object', properties: {} }, strict: true } },
    });
  });

  it('streams the Responses event sequence with sequence numbers, and the final Response with usage', async () => {
    const before = relay.events.length;
    const stream = toOpenAi().responses.stream({ model: 'gpt-4o-mini', input: 'Say the Greek letters' });
    const events = await collect(stream);
    const final = await stream.finalResponse();
    const types = events.map((e) => e.type);
    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...deltas.map(() => 'response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(deltas.length).toBe(6);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(final.output_text).toBe(REPLY);
    expect(final.status).toBe('completed');
    expect(final.usage).toMatchObject({ input_tokens: 4, output_tokens: 6, total_tokens: 10 });
    expect(openai.requests[0].body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    await relay.completed(before + 1);
    expect(relay.events.at(-1)).toMatchObject({ api: 'openai-responses', usage: { prompt_tokens: 4, completion_tokens: 6, estimated: false } });
  });

  it('streams a function call with its arguments in deltas, and takes the function_call_output back', async () => {
    const input: OpenAI.Responses.ResponseInputItem[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const stream = toTools().responses.stream({ model: 'm', input, tools: [weatherTool], tool_choice: 'auto', parallel_tool_calls: false });
    const events = await collect(stream);
    const final = await stream.finalResponse();
    const argDeltas = events.filter((e) => e.type === 'response.function_call_arguments.delta');
    expect(argDeltas).toHaveLength(3);
    expect(events.find((e) => e.type === 'response.function_call_arguments.done')).toMatchObject({ name: TOOL.name, arguments: JSON.stringify(TOOL.input) });
    const call = final.output.find((item) => item.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', call_id: 'call_t1', name: TOOL.name, arguments: JSON.stringify(TOOL.input), status: 'completed' });
    expect(call!.id).toMatch(/^fc_/);
    expect(tools.requests[0].body).toMatchObject({
      tools: [{ type: 'function', function: { name: TOOL.name, description: 'Weather forecast', parameters: weatherTool.parameters, strict: true } }],
      tool_choice: 'auto',
      parallel_tool_calls: false,
    });

    const answer = await toTools().responses.create({
      model: 'm',
      tools: [weatherTool],
      input: [...input, ...(final.output as OpenAI.Responses.ResponseInputItem[]), { type: 'function_call_output', call_id: 'call_t1', output: 'sunny, not JSON' }],
    });
    expect(answer.output_text).toBe('Echo: sunny, not JSON');
    expect((tools.requests[1].body as { messages: unknown[] }).messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_t1', type: 'function', function: { name: TOOL.name, arguments: JSON.stringify(TOOL.input) } }] },
      { role: 'tool', tool_call_id: 'call_t1', content: 'sunny, not JSON' },
    ]);
  });

  it('answers from an Anthropic provider: text with cache-aware usage, and a streamed tool call', async () => {
    const response = await toAnthropic().responses.create({ model: 'claude-x', instructions: 'sys', input: 'hello there' });
    expect(response.output_text).toBe(REPLY);
    expect(response.usage).toMatchObject({ input_tokens: 3, input_tokens_details: { cached_tokens: 1 }, output_tokens: 6 });
    expect(anthropic.requests[0].body).toMatchObject({ model: 'claude-x', system: [{ type: 'text', text: 'sys' }], messages: [{ role: 'user', content: [{ type: 'text', text: 'hello there' }] }] });

    const stream = toAnthropic().responses.stream({ model: 'claude-x', input: 'Weather?', tools: [weatherTool] });
    const events = await collect(stream);
    const final = await stream.finalResponse();
    expect(events.filter((e) => e.type === 'response.function_call_arguments.delta').length).toBeGreaterThan(0);
    expect(final.output).toEqual([expect.objectContaining({ type: 'function_call', name: TOOL.name, arguments: JSON.stringify(TOOL.input), status: 'completed' })]);
    expect(final.usage?.output_tokens).toBeGreaterThan(0);
  });

  it.each([
    [{ previous_response_id: 'resp_abc', input: 'next' }, /previous_response_id: this gateway is stateless/],
    [{ input: 'hi', tools: [{ type: 'web_search' }] }, /built-in tool "web_search"/],
    [{ input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1', detail: 'auto' }] }] }, /file_id/],
    [{ input: [{ type: 'item_reference', id: 'msg_1' }] }, /item_reference needs the stored item/],
  ])('refuses what a stateless gateway cannot do with a clear 400 (%#)', async (params, message) => {
    const err = await toOpenAi()
      .responses.create({ model: 'gpt-4o-mini', ...(params as object) } as OpenAI.Responses.ResponseCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(message);
    expect(openai.requests).toHaveLength(0);
  });

  it('passes a provider 429 on as a RateLimitError, and ends a stream cut mid-answer with response.failed', async () => {
    openai.setFault({ status: 429 }, 1);
    const err = await toOpenAi().responses.create({ model: 'gpt-4o-mini', input: 'hi' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);

    openai.setFault({ cutAfterChunks: 3 }, 1);
    const events = await collect(toOpenAi().responses.stream({ model: 'gpt-4o-mini', input: 'Say the Greek letters' }));
    const last = events.at(-1)!;
    expect(last.type).toBe('response.failed');
    expect(last.type === 'response.failed' && last.response).toMatchObject({ status: 'failed', error: { code: 'server_error', message: expect.stringMatching(/stream interrupted/) } });
    expect(events.filter((e) => e.type === 'response.completed')).toHaveLength(0);
  });

  it('answers 400 for a body-less or non-POST call of /v1/responses', async () => {
    const f = relay.fetchFor({ provider: 'openai', base_url: `${openai.url}/v1`, auth: { api_key: 'sk-oai' } });
    const res = await f(`${relay.url}/v1/responses`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { message: 'request body is required', type: 'invalid_request_error' } });
  });
});
