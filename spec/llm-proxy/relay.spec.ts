import { request } from 'undici';
import { ContextRegistry, type RequestContext } from '../../plugins/runtime/context';
import { RelayServer, TICKET_HEADER } from '../../plugins/runtime/relay/relay-server';
import { TicketBook } from '../../plugins/runtime/relay/tickets';
import { onUsageEvent, type UsageEvent } from '../../plugins/runtime/usage-events';
import { llmProxySchema } from '../../plugins/llm-proxy/schema';
import { PLUGINS } from '../../plugins/registry';
import { OpenAiMock } from '../support/mock-providers/openai-mock';

/**
 * llm-proxy's relay stage against an OpenAI-wire mock, without Kong in front (the e2e suite covers that path):
 * failures of every kind reach the client in the OpenAI envelope with a fitting status, and are recorded.
 */
describe('llm-proxy relay stage', () => {
  const contexts = new ContextRegistry();
  const tickets = new TicketBook<RequestContext>();
  const relay = new RelayServer(tickets, PLUGINS);
  const mock = new OpenAiMock({ apiKey: 'sk-up', chunkDelayMs: 20, reply: 'one two three four five six' });
  const events: UsageEvent[] = [];
  let relayUrl: string;
  let mockUrl: string;

  beforeAll(async () => {
    const { host, port } = await relay.listen();
    relayUrl = `http://${host}:${port}`;
    mockUrl = (await mock.start()).url;
    onUsageEvent((e) => events.push(e));
  });
  afterAll(async () => {
    await relay.close();
    await mock.stop();
    tickets.close();
    contexts.close();
  });
  beforeEach(() => mock.reset());

  function ticketFor(config: Record<string, unknown>): string {
    const ctx = contexts.create();
    ctx.plugins.push({ name: 'llm-proxy', priority: 770, config: llmProxySchema.parse(config) });
    ctx.identity = { consumerGroups: [] };
    return tickets.issue(ctx);
  }

  async function call(path: string, body: unknown, config: Record<string, unknown> = {}, method = 'POST') {
    const ticket = ticketFor({ base_url: `${mockUrl}/v1`, auth: { api_key: 'sk-up' }, ...config });
    const res = await request(`${relayUrl}${path}`, {
      method: method as 'POST',
      headers: { [TICKET_HEADER]: ticket, 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
  }

  const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi there' }] };

  it('applies the configured model and never forwards the client\'s credentials', async () => {
    const ticket = ticketFor({ base_url: `${mockUrl}/v1`, auth: { api_key: 'sk-up' }, model: 'gpt-4.1' });
    const res = await request(`${relayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { [TICKET_HEADER]: ticket, authorization: 'Bearer client-key', 'x-api-key': 'client-key', cookie: 'c=1' },
      body: JSON.stringify(chat),
    });
    expect(res.statusCode).toBe(200);
    expect(((await res.body.json()) as { model: string }).model).toBe('gpt-4.1');
    const seen = mock.requests[0];
    expect(seen.headers.authorization).toBe('Bearer sk-up');
    expect(JSON.stringify(seen.headers)).not.toMatch(/client-key|c=1/);
    expect(seen.headers[TICKET_HEADER]).toBeUndefined();
  });

  it('takes the provider key from the environment variable named in auth.api_key_env', async () => {
    process.env.LLM_TEST_UPSTREAM_KEY = 'sk-up';
    const r = await call('/v1/chat/completions', chat, { auth: { api_key_env: 'LLM_TEST_UPSTREAM_KEY' } });
    delete process.env.LLM_TEST_UPSTREAM_KEY;
    expect(r.status).toBe(200);
  });

  it('answers 500 naming the missing setting when no provider key is configured', async () => {
    const r = await call('/v1/chat/completions', chat, { auth: {} });
    expect(r.status).toBe(500);
    expect(r.json().error).toMatchObject({ code: 'provider_key_missing', type: 'api_error' });
    expect(mock.requests).toHaveLength(0);
  });

  it('turns a provider refusing the gateway\'s key into 502, not the client\'s 401', async () => {
    const r = await call('/v1/chat/completions', chat, { auth: { api_key: 'sk-wrong' } });
    expect(r.status).toBe(502);
    expect(r.json().error.code).toBe('upstream_auth_failed');
    expect(r.text).not.toContain('sk-wrong');
  });

  it('passes a provider\'s own JSON error through with its status and message', async () => {
    mock.setFault({ status: 400 }, 1);
    const r = await call('/v1/chat/completions', chat);
    expect(r.status).toBe(400);
    expect(r.json().error).toMatchObject({ code: 'upstream_rejected', type: 'invalid_request_error' });
  });

  it('answers 504 when the provider sends no headers within first_byte_ms', async () => {
    mock.setFault({ delayMs: 4_000 }, 1); // far past the timeout, even on a machine stalled by other test workers
    const r = await call('/v1/chat/completions', chat, { timeouts: { first_byte_ms: 100 } });
    expect(r.status).toBe(504);
    expect(r.json().error.code).toBe('upstream_timeout');
  });

  it('answers 502 when the provider cannot be reached', async () => {
    const r = await call('/v1/chat/completions', chat, { base_url: 'http://127.0.0.1:9/v1' });
    expect(r.status).toBe(502);
    expect(r.json().error).toMatchObject({ code: 'upstream_unreachable', message: 'provider openai is unreachable' });
  });

  it('answers 502 for a malformed JSON answer', async () => {
    mock.setFault({ malformed: true }, 1);
    const r = await call('/v1/chat/completions', chat);
    expect(r.status).toBe(502);
    expect(r.json().error.code).toBe('upstream_malformed');
  });

  it('ends a stream cut by the provider with a well-formed error event', async () => {
    mock.setFault({ cutAfterChunks: 3 }, 1);
    const r = await call('/v1/chat/completions', { ...chat, stream: true });
    expect(r.status).toBe(200);
    const frames = r.text.trim().split('\n\n');
    const last = JSON.parse(frames.at(-1)!.replace(/^data: /, ''));
    expect(last.error).toMatchObject({ code: 'upstream_unreachable', type: 'api_error' });
    expect(r.text).not.toContain('[DONE]');
  });

  it('stops the upstream call when the client goes away mid-stream, and records it', async () => {
    const ticket = ticketFor({ base_url: `${mockUrl}/v1`, auth: { api_key: 'sk-up' } });
    const controller = new AbortController();
    const res = await request(`${relayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { [TICKET_HEADER]: ticket },
      body: JSON.stringify({ ...chat, stream: true }),
      signal: controller.signal,
    });
    for await (const _ of res.body) {
      controller.abort();
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(events.at(-1)).toMatchObject({ stream: true, error_code: 'client_closed' });
  });

  it('refuses bodies over max_request_body_bytes with 413', async () => {
    const r = await call('/v1/chat/completions', { ...chat, pad: 'x'.repeat(3_000) }, { max_request_body_bytes: 2048 });
    expect(r.status).toBe(413);
    expect(r.json().error).toMatchObject({ code: 'request_too_large', type: 'invalid_request_error' });
  });

  it('answers 404 for a path that is no LLM API, and 405 for GET on chat completions', async () => {
    const unknown = await call('/v1/images/generations', { prompt: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.json().error.code).toBe('unknown_api');
    const get = await call('/v1/chat/completions', undefined, {}, 'GET');
    expect(get.status).toBe(405);
  });

  it('answers 400 for a JSON body that is not an object', async () => {
    const r = await call('/v1/chat/completions', '[1,2]');
    expect(r.status).toBe(400);
    expect(r.json().error.code).toBe('invalid_body');
  });
});
