import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { request } from 'undici';
import { signedPost } from '../../../plugins/providers/bedrock/aws';
import { defaultProviderOptions } from '../../../plugins/providers/options';
import { CREDENTIALS, MODEL, relayWithBedrock } from './relay-with-bedrock';

/**
 * The official `openai` and `@anthropic-ai/sdk` clients → the relay's llm-proxy (provider bedrock) → a Bedrock mock
 * that checks every SigV4 signature and speaks Converse JSON and binary ConverseStream.
 */
const REPLY = 'alpha beta gamma delta';
const TOOL = { name: 'get_weather', input: { city: 'Paris', days: 3 } };
const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  { type: 'function', function: { name: TOOL.name, description: 'Weather forecast', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'number' } } } } },
];

describe('openai / @anthropic-ai/sdk → llm-proxy → Bedrock (mock)', () => {
  const h = relayWithBedrock({ reply: REPLY, cacheReadTokens: 1 });
  const openai = () => new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'client-key', fetch: h.fetch, maxRetries: 0 });
  const anthropic = () => new Anthropic({ baseURL: h.url, apiKey: 'client-key', fetch: h.fetch, maxRetries: 0 });

  beforeAll(() => h.start());
  afterAll(() => h.stop());
  beforeEach(() => {
    h.mock.reset();
    h.configure();
    h.events.length = 0;
    Object.assign(h.mock.options, { toolUse: undefined, splitBytes: undefined, streamException: undefined, omitMetadata: undefined });
  });

  it('answers a chat completion, sending a signed Converse request (session token included)', async () => {
    const completion = await openai().chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say the Greek letters' },
      ],
      max_tokens: 50,
      temperature: 0,
    });
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: MODEL,
      choices: [{ message: { role: 'assistant', content: REPLY }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 6, completion_tokens: 4, total_tokens: 10, prompt_tokens_details: { cached_tokens: 1 } },
    });
    const sent = h.mock.requests[0];
    expect(sent.path).toBe('/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse');
    expect(sent.headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
    expect(sent.body).toEqual({
      system: [{ text: 'Be brief.' }],
      messages: [{ role: 'user', content: [{ text: 'Say the Greek letters' }] }],
      inferenceConfig: { maxTokens: 50, temperature: 0 },
    });
    expect(JSON.stringify(sent.headers)).not.toContain(CREDENTIALS.secretAccessKey);
  });

  it('streams from binary eventstream split at odd byte boundaries: role, text, one finish chunk, usage when asked', async () => {
    h.mock.options.splitBytes = 7;
    const stream = await openai().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(REPLY);
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0].finish_reason)).toEqual(['stop']);
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 1, completion_tokens: 4, total_tokens: 5 });
    expect(h.mock.requests[0].path).toMatch(/\/converse-stream$/);
    expect((await h.event(1)).usage).toMatchObject({ prompt_tokens: 1, completion_tokens: 4, estimated: false });
  });

  it('estimates the usage of a stream that carries no metadata event', async () => {
    h.mock.options.omitMetadata = true;
    const stream = await openai().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.filter((c) => c.choices[0]?.finish_reason)).toHaveLength(1);
    const event = await h.event(1);
    expect(event.usage).toMatchObject({ estimated: true });
    expect(event.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('calls tools, streams their arguments, and takes the tool result back', async () => {
    h.mock.options.toolUse = TOOL;
    const client = openai();
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client.chat.completions.create({ model: MODEL, messages, tools, tool_choice: 'auto' });
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    const call = first.choices[0].message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(call).toMatchObject({ type: 'function', function: { name: TOOL.name } });
    expect(JSON.parse(call.function.arguments)).toEqual(TOOL.input);

    const stream = await client.chat.completions.create({ model: MODEL, messages, tools, stream: true });
    const deltas: OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      deltas.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(deltas[0]).toMatchObject({ index: 0, id: expect.stringMatching(/^tooluse_/), function: { name: TOOL.name } });
    expect(deltas.filter((d) => d.function?.arguments).length).toBeGreaterThan(1);
    expect(JSON.parse(deltas.map((d) => d.function?.arguments ?? '').join(''))).toEqual(TOOL.input);
    expect(finish).toBe('tool_calls');

    const second = await client.chat.completions.create({
      model: MODEL,
      tools,
      messages: [...messages, first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: 'sunny and 21 degrees' }],
    });
    expect(second.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: REPLY } });
    expect((h.mock.requests.at(-1)!.body as { messages: unknown[] }).messages).toEqual([
      { role: 'user', content: [{ text: 'Weather in Paris?' }] },
      { role: 'assistant', content: [{ toolUse: { toolUseId: call.id, name: TOOL.name, input: TOOL.input } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: call.id, content: [{ text: 'sunny and 21 degrees' }] } }] },
    ]);
  });

  it('gives typed SDK errors: throttling 429, unavailable 503, timeout 408, not found 404, validation 400, refused signature → 502, exception mid-stream', async () => {
    h.mock.setFault({ status: 429, headers: { 'x-amzn-errortype': 'ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/' } }, 1);
    const throttled = await openai().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(OpenAI.RateLimitError);

    for (const [status, type, expected] of [
      [503, 'ServiceUnavailableException', OpenAI.InternalServerError],
      [408, 'ModelTimeoutException', OpenAI.APIError],
      [404, 'ResourceNotFoundException', OpenAI.NotFoundError],
    ] as const) {
      h.mock.setFault({ status, headers: { 'x-amzn-errortype': type } }, 1);
      const err = await openai().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(expected);
      expect(err).toMatchObject({ status, message: expect.stringContaining(`mock fault: injected status ${status}`) });
    }

    const invalid = await openai()
      .chat.completions.create({ model: MODEL, messages: [{ role: 'assistant', content: 'I start' }] })
      .catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(OpenAI.BadRequestError);
    expect((invalid as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(/must start with a user message/);

    h.configure({}, { ...h.bedrockOptions(), secret_access_key: 'not-the-secret' });
    const refused = await openai().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.InternalServerError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(h.mock.requests.at(-1)).toBeDefined();
    h.configure({}, { ...h.bedrockOptions(), session_token: undefined } as Record<string, unknown>);
    const noToken = await openai().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect((noToken as InstanceType<typeof OpenAI.APIError>).status).toBe(502);

    h.configure();
    h.mock.options.streamException = { afterEvents: 2, type: 'throttlingException', message: 'Too many tokens, please wait.' };
    const stream = await openai().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'one two three' }], stream: true });
    const failure = await (async () => {
      for await (const _chunk of stream);
    })().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(String((failure as Error).message)).toMatch(/throttlingException: Too many tokens/);
  });

  it('ends a stream with a broken message (bad checksum) with an error the SDK throws, after the text so far', async () => {
    h.mock.setFault({ malformed: true }, 1);
    const stream = await openai().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], stream: true });
    const seen: string[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.role ?? chunk.choices[0]?.delta.content ?? '');
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['assistant']);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as Error).message).toMatch(/malformed event stream/);
  });

  it('the mock accepts only a valid signature: a changed body or date gets 403 InvalidSignatureException', async () => {
    const options = { ...defaultProviderOptions(), bedrock: h.bedrockOptions() };
    const target = { provider: 'bedrock', baseUrl: h.mock.url, apiKey: undefined, model: undefined, options, timeouts: { connectMs: 1000, firstByteMs: 5000, idleMs: 5000 } };
    const signed = signedPost(target, `/model/${encodeURIComponent(MODEL)}/converse`, JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] }), 'application/json');
    const send = (changes: { body?: string; headers?: Record<string, string> }) =>
      request(signed.url, { method: 'POST', headers: { ...signed.headers, ...changes.headers }, body: changes.body ?? signed.body });
    const ok = await send({});
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    const tamperedBody = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'ho' }] }] });
    const date = signed.headers['x-amz-date'];
    const secondEarlier = new Date(Date.parse(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`) - 1000);
    const otherDate = secondEarlier.toISOString().replace(/[-:]|\.\d{3}/g, '');
    for (const changes of [{ body: tamperedBody }, { headers: { 'x-amz-date': otherDate } }]) {
      const res = await send(changes);
      expect(res.statusCode).toBe(403);
      expect(res.headers['x-amzn-errortype']).toMatch(/^InvalidSignatureException:/);
      expect(await res.body.json()).toEqual({ message: expect.stringMatching(/signature we calculated does not match/) });
    }
  });

  it('names the missing AWS setting in a 500 without calling Bedrock', async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    try {
      h.configure({}, { region: 'eu-west-3' });
      const err = await openai().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      expect((err as Error).message).toMatch(/no AWS access key id \(options\.bedrock\.access_key_id or AWS_ACCESS_KEY_ID\)/);
      expect(h.mock.requests).toHaveLength(0);
    } finally {
      if (saved.id !== undefined) process.env.AWS_ACCESS_KEY_ID = saved.id;
      if (saved.secret !== undefined) process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });

  it('embeds a text with a Titan model and answers 404 for the model list', async () => {
    const result = await openai().embeddings.create({ model: 'amazon.titan-embed-text-v2:0', input: 'the quick brown fox', dimensions: 256, encoding_format: 'float' });
    expect(result.data).toHaveLength(1);
    expect(result.data[0].embedding).toHaveLength(256);
    expect(result.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
    expect(h.mock.requests[0]).toMatchObject({ path: '/model/amazon.titan-embed-text-v2%3A0/invoke', body: { inputText: 'the quick brown fox', dimensions: 256 } });
    await expect(openai().models.list()).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('serves Anthropic clients: a message, a stream with tool use, and errors in their format', async () => {
    const message = await anthropic().messages.create({ model: MODEL, max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user', content: 'Say the letters' }] });
    expect(message).toMatchObject({ type: 'message', role: 'assistant', model: MODEL, stop_reason: 'end_turn', content: [{ type: 'text', text: REPLY }] });
    expect(message.usage).toMatchObject({ input_tokens: 4, output_tokens: 4, cache_read_input_tokens: 1 });

    h.mock.options.toolUse = TOOL;
    h.mock.options.splitBytes = 5;
    const stream = anthropic().messages.stream({
      model: MODEL,
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Weather?' }],
      tools: [{ name: TOOL.name, input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    });
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([{ type: 'tool_use', id: expect.any(String), name: TOOL.name, input: TOOL.input }]);
    expect(final.usage.output_tokens).toBeGreaterThan(0);

    h.mock.setFault({ status: 429, headers: { 'x-amzn-errortype': 'ThrottlingException' } }, 1);
    const throttled = await anthropic().messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(Anthropic.RateLimitError);

    h.mock.options.toolUse = undefined;
    h.mock.options.streamException = { afterEvents: 2, type: 'serviceUnavailableException', message: 'Bedrock is unavailable.' };
    const failing = anthropic().messages.stream({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
    const failure = await failing.finalMessage().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Anthropic.APIError);
    expect((failure as Error).message).toMatch(/serviceUnavailableException: Bedrock is unavailable/);
  });
});
