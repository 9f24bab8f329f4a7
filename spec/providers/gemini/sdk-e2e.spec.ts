import OpenAI from 'openai';
import { bagOfWordsVector, embeddingWords } from '../../support/mock-providers/deterministic';
import { GeminiMock } from '../../support/mock-providers/gemini-mock';
import { errorConformance } from '../conformance';
import { startProviderRelay, type ProviderRelay } from '../relay-sdk';

/**
 * The official openai and @anthropic-ai/sdk clients → the relay with llm-proxy (provider gemini or vertex) → the
 * Gemini mock in AI Studio and Vertex URL shapes. Each SDK call gets its own relay ticket, as Kong would give it.
 */
const API_KEY = 'AIza-mock-key-1';
const ACCESS_TOKEN = 'ya29.mock-token';
const REPLY = 'alpha beta gamma delta';
const WEATHER = { name: 'get_weather', args: { city: 'Paris', days: 3 } };
const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather forecast',
    parameters: { type: 'object', additionalProperties: false, properties: { city: { type: 'string' }, days: { type: ['integer', 'null'] } }, required: ['city'] },
  },
};

describe('SDK clients → llm-proxy → Gemini (AI Studio and Vertex AI)', () => {
  const mock = new GeminiMock({ apiKey: API_KEY, accessToken: ACCESS_TOKEN, reply: REPLY, thoughtsTokens: 3 });
  const tools = new GeminiMock({ apiKey: API_KEY, functionCall: { ...WEATHER, thoughtSignature: 'c2lnLTE=' } });
  let relay: ProviderRelay;
  let events: ProviderRelay['events'];

  // the injected failures must not open llm-proxy's circuit breaker for the tests that follow them
  const noBreaker = { circuit_breaker: { enabled: false } };
  const studio = (mockUrl = mock.url) => ({ provider: 'gemini', base_url: `${mockUrl}/v1beta`, auth: { api_key: API_KEY }, ...noBreaker });
  const vertexConfig = () => ({ provider: 'vertex', base_url: `${mock.url}/v1`, auth: { api_key: ACCESS_TOKEN }, options: { vertex: { project: 'proj-1', location: 'europe-west4' } }, ...noBreaker });

  const openai = (config: Record<string, unknown>) => relay.openai(config);
  const anthropic = (config: Record<string, unknown>) => relay.anthropic(config);

  beforeAll(async () => {
    relay = await startProviderRelay([mock, tools]);
    events = relay.events;
  });
  afterAll(() => relay.close());
  beforeEach(() => {
    mock.reset();
    tools.reset();
    events.length = 0;
  });

  const messages = [
    { role: 'system' as const, content: 'Be brief.' },
    { role: 'user' as const, content: 'Say the Greek letters' },
  ];

  it('chat (AI Studio): translated request with x-goog-api-key, OpenAI completion with usage counting thoughts', async () => {
    const completion = await openai(studio()).chat.completions.create({ model: 'gemini-2.5-flash', messages, max_tokens: 50, temperature: 0 });
    expect(completion.choices[0]).toMatchObject({ message: { role: 'assistant', content: REPLY }, finish_reason: 'stop' });
    expect(completion.model).toBe('gemini-2.5-flash-001');
    // prompt: "Be brief." + "Say the Greek letters" = 6 words; completion: 4 words + 3 thought tokens
    expect(completion.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 7, total_tokens: 13, completion_tokens_details: { reasoning_tokens: 3 } });
    const sent = mock.requests[0]!;
    expect(sent.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(sent.headers['x-goog-api-key']).toBe(API_KEY);
    expect(JSON.stringify(sent.headers)).not.toContain('client-placeholder');
    expect(sent.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Say the Greek letters' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { temperature: 0, maxOutputTokens: 50 },
    });
  });

  it('chat (Vertex AI): project/location URL with the Bearer access token; MAX_TOKENS → length', async () => {
    const completion = await openai(vertexConfig()).chat.completions.create({ model: 'gemini-2.5-pro', messages, max_completion_tokens: 2 });
    expect(completion.choices[0]).toMatchObject({ message: { content: 'alpha beta' }, finish_reason: 'length' });
    const sent = mock.requests[0]!;
    expect(sent.path).toBe('/v1/projects/proj-1/locations/europe-west4/publishers/google/models/gemini-2.5-pro:generateContent');
    expect(sent.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
  });

  it.each([
    ['AI Studio', 'gemini', () => studio(), false],
    ['Vertex AI', 'vertex', () => vertexConfig(), true],
  ])('streams (%s): text deltas, one finish_reason, usage chunk only when asked; usage reaches the relay', async (_name, provider, config, includeUsage) => {
    const stream = await openai(config()).chat.completions.create({ model: 'gemini-2.5-flash', messages, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) });
    let text = '';
    const finishes: string[] = [];
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(REPLY);
    expect(finishes).toEqual(['stop']);
    expect(usage).toEqual(includeUsage ? expect.objectContaining({ prompt_tokens: 6, completion_tokens: 7, total_tokens: 13 }) : undefined);
    expect(mock.requests[0]!.query.get('alt')).toBe('sse');
    expect(mock.requests[0]!.path).toMatch(/:streamGenerateContent$/);
    expect(await relay.event(1)).toMatchObject({ provider, model: 'gemini-2.5-flash', usage: { prompt_tokens: 6, completion_tokens: 7, total_tokens: 13, reasoning_tokens: 3, estimated: false } });
  });

  it('a stream without usageMetadata ends normally and the relay estimates usage', async () => {
    const bare = new GeminiMock({ reply: REPLY, omitUsage: true });
    await bare.start();
    try {
      const stream = await openai({ ...studio(bare.url) }).chat.completions.create({ model: 'gemini-2.5-flash', messages, stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text).toBe(REPLY);
      expect((await relay.event(1)).usage).toMatchObject({ estimated: true, completion_tokens: expect.any(Number) });
      expect(events[0]!.usage!.completion_tokens).toBeGreaterThan(0);
    } finally {
      await bare.stop();
    }
  });

  it('tools: function call → tool_calls (schema reduced for Gemini), result round trip with the name and thought signature', async () => {
    const client = openai(studio(tools.url));
    const first = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weatherTool], tool_choice: 'required' });
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    const call = first.choices[0]!.message.tool_calls![0]!;
    if (call.type !== 'function') throw new Error('expected a function tool call');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual(WEATHER.args);
    expect(call.id).toMatch(/^call_/);
    expect(tools.requests[0]!.body).toMatchObject({
      tools: [{ functionDeclarations: [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer', nullable: true } }, required: ['city'] } }] }],
      toolConfig: { functionCallingConfig: { mode: 'ANY' } },
    });

    const second = await client.chat.completions.create({
      model: 'gemini-2.5-flash',
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        first.choices[0]!.message,
        { role: 'tool', tool_call_id: call.id, content: 'sunny and 21 degrees' },
      ],
    });
    expect(second.choices[0]!.message.content).toBe('Echo: sunny and 21 degrees');
    expect((tools.requests[1]!.body as { contents: unknown[] }).contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris?' }] },
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: WEATHER.args }, thoughtSignature: 'c2lnLTE=' }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { content: 'sunny and 21 degrees' } } }] },
    ]);
  });

  it('tools, streamed: one tool call chunk with id, name and arguments; finish_reason tool_calls', async () => {
    const stream = await openai(studio(tools.url)).chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Weather?' }], tools: [weatherTool], stream: true });
    const calls: { index: number; id?: string; function?: { name?: string; arguments?: string } }[] = [];
    const finishes: string[] = [];
    for await (const chunk of stream) {
      calls.push(...(chunk.choices[0]?.delta?.tool_calls ?? []));
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
    }
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ index: 0, id: expect.stringMatching(/^call_/), function: { name: 'get_weather' } });
    expect(JSON.parse(calls[0]!.function!.arguments!)).toEqual(WEATHER.args);
    expect(finishes).toEqual(['tool_calls']);
  });

  it('JSON mode and json_schema reach Gemini as responseMimeType / responseJsonSchema', async () => {
    const client = openai(studio());
    await client.chat.completions.create({ model: 'gemini-2.5-flash', messages, response_format: { type: 'json_object' } });
    await client.chat.completions.create({
      model: 'gemini-2.5-flash',
      messages,
      response_format: { type: 'json_schema', json_schema: { name: 'letters', schema: { type: 'object', properties: { letters: { type: 'array', items: { type: 'string' } } } } } },
    });
    expect(mock.requests[0]!.body).toMatchObject({ generationConfig: { responseMimeType: 'application/json' } });
    expect(mock.requests[1]!.body).toMatchObject({
      generationConfig: { responseMimeType: 'application/json', responseJsonSchema: { type: 'object', properties: { letters: { type: 'array', items: { type: 'string' } } } } },
    });
  });

  it('embeddings: AI Studio batchEmbedContents (float and the SDK\'s default base64) and Vertex predict', async () => {
    const inputs = ['the quick fox', 'lazy dog'];
    const expected = inputs.map((t) => bagOfWordsVector(embeddingWords(t), 16));
    const viaStudio = await openai(studio()).embeddings.create({ model: 'gemini-embedding-001', input: inputs, dimensions: 16 }); // SDK asks base64, decodes
    expect(viaStudio.data.map((d) => d.embedding)).toEqual(expected);
    expect(mock.requests[0]!.path).toBe('/v1beta/models/gemini-embedding-001:batchEmbedContents');
    const asFloat = await openai(studio()).embeddings.create({ model: 'gemini-embedding-001', input: 'the quick fox', dimensions: 16, encoding_format: 'float' });
    expect(asFloat.data[0]!.embedding).toEqual(expected[0]);
    const viaVertex = await openai(vertexConfig()).embeddings.create({ model: 'text-embedding-005', input: inputs, dimensions: 16 });
    expect(viaVertex.data.map((d) => d.embedding)).toEqual(expected);
    expect(viaVertex.usage).toEqual({ prompt_tokens: 5, total_tokens: 5 });
    expect(mock.requests[2]!.path).toBe('/v1/projects/proj-1/locations/europe-west4/publishers/google/models/text-embedding-005:predict');
  });

  it('models: AI Studio list as OpenAI\'s; Vertex a clear 404', async () => {
    const page = await openai(studio()).models.list();
    expect(page.data.map((m) => m.id)).toEqual(['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-embedding-001']);
    await expect(openai(vertexConfig()).models.list()).rejects.toMatchObject({ status: 404, message: expect.stringMatching(/Vertex AI has no model list/) });
  });

  it('errors become typed SDK errors with the right status; safety blocks are clear', async () => {
    const client = openai(studio());
    mock.setFault({ status: 429 }, 1);
    await expect(client.chat.completions.create({ model: 'gemini-2.5-flash', messages })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    mock.setFault({ status: 503 }, 1);
    await expect(client.chat.completions.create({ model: 'gemini-2.5-flash', messages })).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    const badRequest = client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/photo' } }] }] });
    await expect(badRequest).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(badRequest).rejects.toMatchObject({ message: expect.stringMatching(/base64 data URL/) });
    expect(mock.requests).toHaveLength(2); // the 400 never reached Gemini

    const blocked = client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'please [block-prompt]' }] });
    await expect(blocked).rejects.toMatchObject({ status: 400, code: 'content_filter', message: expect.stringContaining('the provider blocked the prompt (blockReason SAFETY)') });
    const unsafe = await client.chat.completions.create({ model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'say [unsafe-answer]' }] });
    expect(unsafe.choices[0]).toMatchObject({ finish_reason: 'content_filter', message: { content: '' } });

    // Vertex refusing the gateway's access token is the gateway's fault, not the client's
    const wrongToken = openai({ ...vertexConfig(), auth: { api_key: 'ya29.expired' } });
    await expect(wrongToken.chat.completions.create({ model: 'gemini-2.5-flash', messages })).rejects.toMatchObject({ status: 502, message: expect.stringMatching(/refused the gateway's credentials/) });
  });

  it('an error in the middle of a stream becomes a well-formed error the SDK raises', async () => {
    const failing = new GeminiMock({ reply: REPLY, streamError: { afterFrames: 2, code: 503, status: 'UNAVAILABLE', message: 'The model is overloaded. Please try again later.' } });
    await failing.start();
    try {
      const stream = await openai(studio(failing.url)).chat.completions.create({ model: 'gemini-2.5-flash', messages, stream: true });
      let text = '';
      const read = (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      })();
      await expect(read).rejects.toThrow(/The model is overloaded/);
      expect(text).toBe('alpha beta');

      const raw = await relay.post('/v1/chat/completions', { model: 'gemini-2.5-flash', messages, stream: true }, studio(failing.url));
      const last = raw.text.trim().split('\n\n').at(-1)!;
      expect(JSON.parse(last.slice('data: '.length))).toEqual({
        error: { message: 'The model is overloaded. Please try again later.', type: 'api_error', param: null, code: 'upstream_stream_error' },
      });
      const forAnthropic = await relay.post('/v1/messages', { model: 'gemini-2.5-flash', max_tokens: 20, stream: true, messages: [{ role: 'user', content: 'hi' }] }, studio(failing.url));
      expect(forAnthropic.text.trim().split('\n\n').at(-1)).toBe(
        `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'The model is overloaded. Please try again later.' } })}`,
      );
    } finally {
      await failing.stop();
    }
  });

  it('@anthropic-ai/sdk client → Gemini: message and stream translated both ways', async () => {
    const client = anthropic(studio());
    const message = await client.messages.create({ model: 'gemini-2.5-flash', max_tokens: 64, system: 'Be brief.', messages: [{ role: 'user', content: 'Say the Greek letters' }] });
    expect(message).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'end_turn', content: [{ type: 'text', text: REPLY }], usage: { input_tokens: 6, output_tokens: 7 } });
    expect(mock.requests[0]!.body).toMatchObject({ systemInstruction: { parts: [{ text: 'Be brief.' }] }, generationConfig: { maxOutputTokens: 64 } });

    const stream = client.messages.stream({ model: 'gemini-2.5-flash', max_tokens: 64, messages: [{ role: 'user', content: 'Say the Greek letters' }] });
    let text = '';
    stream.on('text', (t) => (text += t));
    const final = await stream.finalMessage();
    expect(text).toBe(REPLY);
    expect(final).toMatchObject({ stop_reason: 'end_turn', usage: { output_tokens: 7 } });

    const toolClient = anthropic(studio(tools.url));
    const toolAnswer = await toolClient.messages.create({
      model: 'gemini-2.5-flash',
      max_tokens: 64,
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      messages: [{ role: 'user', content: 'Weather?' }],
    });
    expect(toolAnswer.stop_reason).toBe('tool_use');
    expect(toolAnswer.content).toEqual([expect.objectContaining({ type: 'tool_use', name: 'get_weather', input: WEATHER.args })]);
  });

  describe('provider failures (shared conformance)', () => {
    errorConformance(() => ({ relay, mock, config: studio(), model: 'gemini-2.5-flash' }));
  });
});
