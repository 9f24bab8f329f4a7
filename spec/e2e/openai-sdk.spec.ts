import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { usageLog } from '../support/usage-log';
import { KongEmulator } from '../support/kong-emulator/emulator';
import { OpenAiMock } from '../support/mock-providers/openai-mock';

/**
 * The first end-to-end path with the shipped kong/kong.yaml: the official openai SDK → Kong emulator (key-auth,
 * our five plugins over the real protocol) → relay in the real plugin-server process → an OpenAI-wire mock.
 */
const UPSTREAM_KEY = 'sk-upstream-e2e-7Q2';
const CONSUMER_KEY = 'team-a-demo-key';
const REPLY = 'alpha beta gamma delta epsilon zeta eta theta iota kappa';

describe('openai SDK → Kong emulator → llm-proxy → OpenAI-compatible upstream', () => {
  let mock: OpenAiMock;
  let kong: KongEmulator;
  let dir: string;
  let usageLogFile: string;
  let direct: OpenAI;
  let client: OpenAI;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-e2e-'));
    usageLogFile = join(dir, 'usage.jsonl');
    mock = new OpenAiMock({ apiKey: UPSTREAM_KEY, reply: REPLY, chunkDelayMs: 40 });
    const { url } = await mock.start();
    const env = { LLM_OPENAI_BASE_URL: `${url}/v1`, OPENAI_API_KEY: UPSTREAM_KEY };
    kong = await KongEmulator.start({
      config: join(__dirname, '..', '..', 'kong', 'kong.yaml'),
      env,
      pluginServer: { env: { LLM_USAGE_LOG: usageLogFile } },
    });
    direct = new OpenAI({ baseURL: `${url}/v1`, apiKey: UPSTREAM_KEY, maxRetries: 0 });
    // the consumer's key as the SDK sends it by default (Authorization: Bearer), as the README shows
    // no-store: these tests are about the provider path, and repeat one prompt that the route's cache would answer
    client = new OpenAI({ baseURL: `${kong.url}/openai/v1`, apiKey: CONSUMER_KEY, maxRetries: 0, defaultHeaders: { 'cache-control': 'no-store' } });
  });

  afterAll(async () => {
    await kong?.stop();
    await mock?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => mock.reset());

  const messages = [{ role: 'user' as const, content: 'Say the Greek letters' }];
  const usageEvents = () => usageLog(usageLogFile).all();

  it('answers a chat completion with the same content as the upstream, with the gateway\'s key upstream', async () => {
    const expected = await direct.chat.completions.create({ model: 'gpt-4o-mini', messages });
    mock.reset();
    const { data: answer, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    expect(answer.choices[0].message.content).toBe(expected.choices[0].message.content);
    expect(answer.usage).toEqual(expected.usage);
    expect(response.headers.get('x-llm-provider')).toBe('openai');
    expect(response.headers.get('x-llm-total-tokens')).toBe(String(expected.usage!.total_tokens));

    const upstream = mock.requests[0];
    expect(upstream.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(JSON.stringify(upstream.headers)).not.toContain(CONSUMER_KEY);
  });

  it('streams chunk by chunk: the first chunk arrives long before the upstream finishes', async () => {
    const started = Date.now();
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const arrivals: number[] = [];
    let text = '';
    let sawUsage = false;
    for await (const chunk of stream) {
      arrivals.push(Date.now() - started);
      text += chunk.choices[0]?.delta?.content ?? '';
      if ('usage' in chunk) sawUsage = true;
    }
    expect(text).toBe(REPLY);
    // the client did not ask for usage: the injected usage chunk and the "usage":null fields are taken out
    expect(sawUsage).toBe(false);
    // 12 chunks 40 ms apart upstream: a buffered answer would arrive all at once at the end
    expect(arrivals.length).toBeGreaterThanOrEqual(REPLY.split(' ').length);
    expect(arrivals.at(-1)! - arrivals[0]).toBeGreaterThan(300);
    // the gateway asked the upstream for usage anyway, and recorded it
    expect(mock.requests[0].body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    await new Promise((r) => setTimeout(r, 50));
    const event = usageEvents().at(-1)!;
    expect(event).toMatchObject({
      api: 'openai-chat',
      stream: true,
      status: 200,
      provider: 'openai',
      model: 'gpt-4o-mini',
      consumer: { username: 'team-a' },
      route: { name: 'openai' },
      usage: { prompt_tokens: 4, completion_tokens: REPLY.split(' ').length, estimated: false },
    });
    expect(event.ttft_ms).toBeLessThan(event.latency_ms - 300);
  });

  it('passes the usage chunk through when the client asks for it', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage).toMatchObject({ prompt_tokens: 4, completion_tokens: REPLY.split(' ').length });
  });

  it('records usage of every non-streamed answer', async () => {
    const answer = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    await new Promise((r) => setTimeout(r, 50));
    expect(usageEvents().at(-1)).toMatchObject({
      stream: false,
      usage: { prompt_tokens: answer.usage!.prompt_tokens, completion_tokens: answer.usage!.completion_tokens, total_tokens: answer.usage!.total_tokens },
    });
  });

  it('serves embeddings (base64, the SDK default) and the model list', async () => {
    const emb = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello world' });
    const expected = await direct.embeddings.create({ model: 'text-embedding-3-small', input: 'hello world' });
    expect(emb.data[0].embedding).toEqual(expected.data[0].embedding);
    const models = await client.models.list();
    expect(models.data.length).toBeGreaterThan(0);
  });

  it('answers a missing or wrong key with a 401 the SDK parses, before any provider call', async () => {
    for (const apiKey of ['wrong-key', '']) {
      const sdk = new OpenAI({ baseURL: `${kong.url}/openai/v1`, apiKey: apiKey || 'x', defaultHeaders: apiKey ? {} : { authorization: null }, maxRetries: 0 });
      const err = await sdk.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      const e = err as InstanceType<typeof OpenAI.AuthenticationError>;
      expect(e.status).toBe(401);
      expect(e.code).toBe('invalid_api_key');
      expect(e.message).toContain('Invalid or missing API key');
    }
    // the other ways clients send the key: x-api-key (Claude Code) and key-auth's own apikey header
    for (const headers of [{ 'x-api-key': CONSUMER_KEY }, { apikey: CONSUMER_KEY }]) {
      const sdk = new OpenAI({ baseURL: `${kong.url}/openai/v1`, apiKey: 'x', defaultHeaders: { ...headers, authorization: null, 'cache-control': 'no-store' }, maxRetries: 0 });
      const answer = await sdk.chat.completions.create({ model: 'gpt-4o-mini', messages });
      expect(answer.choices[0].message.content).toBe(REPLY);
    }
    expect(mock.requests).toHaveLength(2);
  });

  it('returns upstream errors in the OpenAI error envelope with a sensible status', async () => {
    mock.setFault({ status: 503, body: '<html>Service Unavailable</html>', contentType: 'text/html' }, 1);
    const e503 = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e: unknown) => e);
    expect(e503).toBeInstanceOf(OpenAI.InternalServerError);
    expect((e503 as { status: number }).status).toBe(503);
    expect((e503 as Error).message).toContain('answered HTTP 503');

    mock.setFault({ status: 429, headers: { 'retry-after': '7' } }, 1);
    const e429 = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e: unknown) => e);
    expect(e429).toBeInstanceOf(OpenAI.RateLimitError);
    expect((e429 as { headers: Headers }).headers.get('retry-after')).toBe('7');
  });

  it('answers 400 in the OpenAI envelope for a body that is not JSON, without echoing it', async () => {
    const res = await fetch(`${kong.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { apikey: CONSUMER_KEY, 'content-type': 'application/json' },
      body: '{"model": "x", "messages": [ sk-secret-in-body',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; type: string } };
    expect(body.error).toMatchObject({ message: 'request body is not valid JSON', type: 'invalid_request_error' });
    expect(JSON.stringify(body)).not.toContain('sk-secret-in-body');
  });

  describe('the official Anthropic SDK on the shipped /claude route (translated to the OpenAI upstream)', () => {
    const claude = (opts: { apiKey?: string | null; authToken?: string | null }) =>
      new Anthropic({ baseURL: `${kong.url}/claude`, maxRetries: 0, ...opts });
    const ask = { model: 'claude-sonnet-4-5', max_tokens: 200, messages: [{ role: 'user' as const, content: 'Say the Greek letters' }] };
    const text = (m: Anthropic.Message) => m.content.map((b) => (b.type === 'text' ? b.text : '')).join('');

    it('authenticates with the consumer key as x-api-key or Bearer, and answers in Anthropic\'s format', async () => {
      for (const opts of [{ apiKey: CONSUMER_KEY, authToken: null }, { apiKey: null, authToken: CONSUMER_KEY }]) {
        const message = await claude(opts).messages.create(ask);
        expect(text(message)).toBe(REPLY);
        expect(message.stop_reason).toBe('end_turn');
      }
      expect(mock.requests.at(-1)?.body).toMatchObject({ model: 'gpt-4o-mini' }); // the route's model
    });

    it('answers a wrong key with a 401 the Anthropic SDK parses', async () => {
      const err = await claude({ apiKey: 'wrong', authToken: null }).messages.create(ask).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
      expect((err as { error: unknown }).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
      expect(mock.requests).toHaveLength(0);
    });
  });

  it('leaves Kong\'s logging plugins a record with our headers and the consumer', async () => {
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    await kong.waitForLogTimers();
    const record = kong.logs.at(-1) as { response: { status: number; headers: Record<string, string> }; consumer: { username: string } };
    expect(record.response.status).toBe(200);
    expect(record.response.headers['x-llm-provider']).toBe('openai');
    expect(record.response.headers['x-llm-prompt-tokens']).toBe('4');
    expect(record.consumer.username).toBe('team-a');
  });
});
