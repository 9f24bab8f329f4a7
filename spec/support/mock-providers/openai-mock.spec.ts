import OpenAI from 'openai';
import { FAULT_HEADER, type MockFault } from './mock-server';
import { mockOptionsFromArgs, startMockFromArgs } from './main';
import { OpenAiMock } from './openai-mock';

const API_KEY = 'sk-mock-test';

describe('OpenAI mock provider (through the official openai SDK)', () => {
  const mock = new OpenAiMock({ apiKey: API_KEY });
  let client: OpenAI;
  let baseURL: string;

  beforeAll(async () => {
    const { url } = await mock.start();
    baseURL = `${url}/v1`;
    client = new OpenAI({ apiKey: API_KEY, baseURL, maxRetries: 0, timeout: 5_000, logLevel: 'off' });
  });
  afterAll(() => mock.stop());
  beforeEach(() => mock.reset());

  const faultHeader = (fault: MockFault) => ({ headers: { [FAULT_HEADER]: JSON.stringify(fault) } });
  const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Hello there   mock' },
  ];
  // prompt: 3 + 3 words; answer "Echo: Hello there mock": 4 words
  const expectedUsage = { prompt_tokens: 6, completion_tokens: 4, total_tokens: 10 };

  describe('chat completions', () => {
    it('answers in OpenAI’s JSON shape with deterministic content and usage, and records the request', async () => {
      const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });

      expect(completion.id).toMatch(/^chatcmpl-/);
      expect(completion.object).toBe('chat.completion');
      expect(completion.model).toBe('gpt-4o-mini');
      expect(Number.isInteger(completion.created)).toBe(true);
      expect(completion.choices).toEqual([
        {
          index: 0,
          message: { role: 'assistant', content: 'Echo: Hello there mock', refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: 'stop',
        },
      ]);
      expect(completion.usage).toEqual({
        ...expectedUsage,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      });

      expect(mock.requests).toHaveLength(1);
      const [recorded] = mock.requests;
      expect(recorded).toMatchObject({ method: 'POST', path: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages } });
      expect(recorded?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    });

    it('cuts the answer to a tiny max_tokens and reports finish_reason "length"', async () => {
      const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 2 });
      expect(completion.choices[0]?.message.content).toBe('Echo: Hello');
      expect(completion.choices[0]?.finish_reason).toBe('length');
      expect(completion.usage?.completion_tokens).toBe(2);
    });

    it('uses a configured reply, label, cached and reasoning tokens', async () => {
      const custom = new OpenAiMock({ reply: 'Fixed answer here', label: 'demo', cachedPromptTokens: 4, reasoningTokens: 5 });
      const { url } = await custom.start();
      try {
        const other = new OpenAI({ apiKey: 'any', baseURL: `${url}/v1`, maxRetries: 0, logLevel: 'off' });
        const completion = await other.chat.completions.create({ model: 'm', messages });
        expect(completion.choices[0]?.message.content).toBe('[demo upstream] Fixed answer here');
        expect(completion.usage).toMatchObject({
          prompt_tokens: 6,
          completion_tokens: 5 + 5,
          total_tokens: 16,
          prompt_tokens_details: { cached_tokens: 4 },
          completion_tokens_details: { reasoning_tokens: 5 },
        });
      } finally {
        await custom.stop();
      }
    });

    it('answers a request without model with 400 in OpenAI’s error envelope', async () => {
      const error = await client.chat.completions.create({ messages } as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ type: 'invalid_request_error', param: 'model' });
    });
  });

  describe('streaming', () => {
    it('streams a role chunk, one word per chunk and a finish chunk, without usage unless asked', async () => {
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
      const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);

      expect(chunks.map((c) => c.object)).toEqual(chunks.map(() => 'chat.completion.chunk'));
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
      expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '', refusal: null });
      expect(chunks.slice(1, -1).map((c) => c.choices[0]?.delta.content)).toEqual(['Echo:', ' Hello', ' there', ' mock']);
      expect(chunks.at(-1)?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
      expect(chunks.every((c) => !('usage' in c))).toBe(true);
    });

    it('adds a final usage chunk with empty choices when stream_options.include_usage is true', async () => {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages,
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);

      const last = chunks.at(-1);
      expect(last?.choices).toEqual([]);
      expect(last?.usage).toMatchObject(expectedUsage);
      expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
      expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    });

    it('sends the exact SSE framing: text/event-stream, data: lines separated by blank lines, [DONE] last', async () => {
      const response = await fetch(`${baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true }),
      });
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const text = await response.text();
      const events = text.split('\n\n');
      expect(events.pop()).toBe('');
      expect(events.every((e) => e.startsWith('data: ') && !e.includes('\n'))).toBe(true);
      expect(events.at(-1)).toBe('data: [DONE]');
      expect(events).toHaveLength(1 + 2 + 1 + 1); // role, "Echo:" " hi", finish, [DONE]
    });

    it('delivers chunks incrementally: the first arrives long before the stream ends', async () => {
      const started = Date.now();
      const stream = await client.chat.completions.create(
        { model: 'gpt-4o-mini', messages, stream: true },
        faultHeader({ chunkDelayMs: 80 }),
      );
      const arrivals: number[] = [];
      for await (const _chunk of stream) arrivals.push(Date.now() - started);
      // 6 chunks + [DONE] with 80 ms between frames: ≥ 480 ms in total
      expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(300);
    });

    it('surfaces a mid-stream disconnect as an error in the SDK after the first chunks', async () => {
      mock.setFault({ cutAfterChunks: 3 }, 1);
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
      const received: string[] = [];
      const consume = async () => {
        for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
      };
      await expect(consume()).rejects.toThrow();
      expect(received).toEqual(['', 'Echo:', ' Hello']);
    });

    it('surfaces a malformed SSE frame as an error in the SDK', async () => {
      mock.setFault({ malformed: true }, 1);
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
      const consume = async () => {
        for await (const _chunk of stream) void _chunk;
      };
      await expect(consume()).rejects.toThrow(SyntaxError);
    });
  });

  describe('embeddings', () => {
    const input = ['the quick brown fox', 'the quick brown cat', 'completely unrelated words here'];

    it('returns unit float vectors that are deterministic and closer for texts sharing words', async () => {
      const result = await client.embeddings.create({ model: 'text-embedding-3-small', input, encoding_format: 'float' });
      expect(result.object).toBe('list');
      expect(result.model).toBe('text-embedding-3-small');
      expect(result.usage).toEqual({ prompt_tokens: 4 + 4 + 4, total_tokens: 12 });
      const [fox, cat, other] = result.data.map((d) => d.embedding);
      expect(result.data.map((d) => [d.object, d.index])).toEqual([['embedding', 0], ['embedding', 1], ['embedding', 2]]);
      expect(fox).toHaveLength(64);
      expect(Math.hypot(...fox!)).toBeCloseTo(1, 5);
      expect(cosine(fox!, cat!)).toBeGreaterThan(cosine(fox!, other!));

      const again = await client.embeddings.create({ model: 'text-embedding-3-small', input: input[0]!, encoding_format: 'float' });
      expect(again.data[0]?.embedding).toEqual(fox);
    });

    it('honours dimensions', async () => {
      const result = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'abc', dimensions: 8, encoding_format: 'float' });
      expect(result.data[0]?.embedding).toHaveLength(8);
    });

    it('encodes base64 as little-endian float32, which the SDK decodes by default to the same floats', async () => {
      const floats = await client.embeddings.create({ model: 'text-embedding-3-small', input, encoding_format: 'float' });
      const decodedBySdk = await client.embeddings.create({ model: 'text-embedding-3-small', input });
      expect(mock.requests.at(-1)?.body).toMatchObject({ encoding_format: 'base64' });
      expect(decodedBySdk.data.map((d) => d.embedding)).toEqual(floats.data.map((d) => d.embedding));

      const raw = await client.embeddings.create({ model: 'text-embedding-3-small', input: input[0]!, encoding_format: 'base64' });
      const base64 = raw.data[0]?.embedding as unknown as string;
      expect(typeof base64).toBe('string');
      const bytes = Buffer.from(base64, 'base64');
      const littleEndian = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
      expect(littleEndian).toEqual(floats.data[0]?.embedding);
    });
  });

  it('lists and retrieves models', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small']);
    await expect(client.models.retrieve('gpt-4o')).resolves.toMatchObject({ id: 'gpt-4o', object: 'model', owned_by: 'openai' });
    await expect(client.models.retrieve('nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  describe('authentication', () => {
    it('rejects a wrong key with 401 invalid_api_key, without echoing the key', async () => {
      const wrong = new OpenAI({ apiKey: 'sk-wrong-key', baseURL, maxRetries: 0, logLevel: 'off' });
      const error = await wrong.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      const apiError = error as InstanceType<typeof OpenAI.AuthenticationError>;
      expect(apiError.status).toBe(401);
      expect(apiError.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key' });
      expect(JSON.stringify(apiError.error)).not.toContain('sk-wrong-key');
    });

    it('rejects a request without Authorization with 401 in OpenAI’s envelope', async () => {
      const response = await fetch(`${baseURL}/models`);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        error: { message: expect.stringContaining("didn't provide an API key"), type: 'invalid_request_error', param: null, code: null },
      });
    });
  });

  describe('fault injection', () => {
    it('answers an injected status for the next N requests only, in OpenAI’s envelope, with extra headers', async () => {
      mock.setFault({ status: 429, headers: { 'retry-after': '7' } }, 1);
      const error = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      const apiError = error as InstanceType<typeof OpenAI.RateLimitError>;
      expect(apiError.headers.get('retry-after')).toBe('7');
      expect(apiError.error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });

      await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages })).resolves.toBeDefined();
    });

    it('keeps a fault without a count until cleared', async () => {
      mock.setFault({ status: 503 });
      for (let i = 0; i < 2; i++) {
        await expect(client.models.retrieve('gpt-4o')).rejects.toMatchObject({ status: 503 });
      }
      mock.clearFault();
      await expect(client.models.retrieve('gpt-4o')).resolves.toBeDefined();
    });

    it('takes a fault from the x-mock-fault header: a raw HTML error page', async () => {
      const error = await client.chat.completions
        .create({ model: 'gpt-4o-mini', messages }, faultHeader({ status: 502, body: '<html><body>Bad Gateway</body></html>', contentType: 'text/html' }))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
      expect(mock.requests).toHaveLength(1);
    });

    it('delays the response headers by delayMs', async () => {
      const started = Date.now();
      const response = await client.models.retrieve('gpt-4o', faultHeader({ delayMs: 300 })).asResponse();
      expect(response.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);

      const error = await client.models.retrieve('gpt-4o', { ...faultHeader({ delayMs: 2_000 }), timeout: 100 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIConnectionError);
    });

    it('breaks a JSON answer with malformed and cuts it with cutAfterChunks', async () => {
      await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages }, faultHeader({ malformed: true }))).rejects.toThrow();
      await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages }, faultHeader({ cutAfterChunks: 0 }))).rejects.toThrow();
    });

    it('rejects an invalid x-mock-fault header with 400', async () => {
      const response = await fetch(`${baseURL}/models`, { headers: { [FAULT_HEADER]: '{"status":"boom"}' } });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('x-mock-fault is invalid');
    });

    it('answers unknown paths with OpenAI’s 404', async () => {
      const response = await fetch(`${baseURL}/nope`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}` } });
      expect(response.status).toBe(404);
      expect(await response.json()).toMatchObject({ error: { message: 'Invalid URL (POST /v1/nope)', type: 'invalid_request_error' } });
    });
  });
});

describe('mock provider main (standalone runner)', () => {
  it('parses the command line, with the API key also from MOCK_OPENAI_API_KEY', () => {
    expect(mockOptionsFromArgs(['--port', '9100', '--host', '0.0.0.0', '--label', 'demo'], {})).toEqual({
      host: '0.0.0.0',
      port: 9100,
      label: 'demo',
      apiKey: undefined,
    });
    expect(mockOptionsFromArgs([], { MOCK_OPENAI_API_KEY: 'sk-env' })).toMatchObject({ host: '127.0.0.1', port: 9100, apiKey: 'sk-env' });
    expect(() => mockOptionsFromArgs(['--port', 'x'], {})).toThrow('--port');
    expect(() => mockOptionsFromArgs(['--bogus'], {})).toThrow();
  });

  it('prints one listening line and serves demo-labelled answers', async () => {
    const written: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    let mock: OpenAiMock | undefined;
    try {
      mock = await startMockFromArgs(['--port', '0', '--label', 'demo'], {});
    } finally {
      spy.mockRestore();
    }
    try {
      expect(written).toEqual([`mock-openai listening on ${mock.url}\n`]);
      expect(mock.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const client = new OpenAI({ apiKey: 'unchecked', baseURL: `${mock.url}/v1`, maxRetries: 0, logLevel: 'off' });
      const completion = await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'ping' }] });
      expect(completion.choices[0]?.message.content).toBe('[demo upstream] Echo: ping');
    } finally {
      await mock.stop();
    }
  });
});

function cosine(a: number[], b: number[]): number {
  return a.reduce((sum, v, i) => sum + v * (b[i] ?? 0), 0) / (Math.hypot(...a) * Math.hypot(...b));
}
