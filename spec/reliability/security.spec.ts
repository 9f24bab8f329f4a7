import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { llmProxySchema } from '../../plugins/llm-proxy/schema';
import { ContextRegistry, type RequestContext } from '../../plugins/runtime/context';
import { RelayServer, TICKET_HEADER } from '../../plugins/runtime/relay/relay-server';
import { TicketBook } from '../../plugins/runtime/relay/tickets';
import { PLUGINS } from '../../plugins/registry';
import { OpenAiMock } from '../support/mock-providers/openai-mock';
import { CLIENT_KEY, FuzzRelay, UPSTREAM_OPENAI_KEY } from './support/fuzz-relay';

/**
 * Nobody gets around the gateway's controls: no client input chooses where a request goes or which credential it
 * carries (SSRF), and nothing a client or provider sends can inject a response header.
 */
describe('no client input chooses the upstream or its credential', () => {
  const relay = new FuzzRelay();
  /** Any request reaching this server means the relay was steered by client input. */
  const trapHits: string[] = [];
  const trap = http.createServer((req, res) => {
    trapHits.push(`${req.method} ${req.url}`);
    res.end('{}');
  });
  let trapUrl = '';

  beforeAll(async () => {
    await relay.start();
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await relay.stop();
    await new Promise((resolve) => trap.close(resolve));
  });
  beforeEach(() => relay.openai.reset());

  const steering = () => ({
    base_url: `${trapUrl}/v1`,
    api_base: `${trapUrl}/v1`,
    baseURL: `${trapUrl}/v1`,
    provider: 'openai-compatible',
    api_key: 'sk-client-chosen',
    auth: { api_key: 'sk-client-chosen' },
    url: trapUrl,
  });

  it('ignores upstream URLs and keys in the body and in headers; the configured key goes upstream', async () => {
    const answer = await relay.send({
      path: '/v1/chat/completions',
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...steering() }),
      headers: {
        'x-llm-base-url': trapUrl,
        'x-forwarded-host': new URL(trapUrl).host,
        'x-upstream-url': trapUrl,
        'api-key': 'sk-client-chosen',
        'x-api-key': 'sk-client-chosen',
        'openai-organization': 'org-client',
      },
    });
    expect(answer.status).toBe(200);
    expect(trapHits).toEqual([]);
    expect(relay.openai.requests).toHaveLength(1);
    const sent = relay.openai.requests[0];
    expect(sent.headers.authorization).toBe(`Bearer ${UPSTREAM_OPENAI_KEY}`);
    const forwarded = JSON.stringify(sent.headers);
    for (const leaked of ['sk-client-chosen', CLIENT_KEY, 'org-client', trapUrl]) expect(forwarded).not.toContain(leaked);
  });

  it('answers headers too large for Node\'s parser with a JSON 431, not a bare one', async () => {
    const answer = await relay.send({ path: '/v1/chat/completions', body: '{}', headers: { 'x-huge': 'a'.repeat(100_000) } }).catch((e: unknown) => e);
    expect(answer).toMatchObject({ status: 431 });
    expect(JSON.parse((answer as { text: string }).text).error).toMatchObject({ code: 'headers_too_large', message: 'request headers are too large' });
  });

  it('keeps the upstream path fixed whatever the client path holds (dot segments, encoded slashes, absolute URLs)', async () => {
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    for (const path of ['/v1/../../admin/chat/completions', '/v1/chat/completions/..%2f..%2fadmin', `/${encodeURIComponent(trapUrl)}/v1/chat/completions`]) {
      const answer = await relay.send({ path, body });
      expect(answer.status).toBeLessThan(500);
    }
    expect(trapHits).toEqual([]);
    for (const sent of relay.openai.requests) expect(sent.path).toBe('/v1/chat/completions');
  });
});

describe('response headers cannot be injected', () => {
  const contexts = new ContextRegistry();
  const tickets = new TicketBook<RequestContext>();
  const relay = new RelayServer(tickets, PLUGINS.filter((p) => p.name === 'llm-proxy'));
  /** A provider that answers with a model name holding CR/LF, as a hostile or broken upstream might. */
  const mock = new OpenAiMock({ apiKey: 'sk-hdr' });
  let relayUrl = '';

  beforeAll(async () => {
    const { host, port } = await relay.listen();
    relayUrl = `http://${host}:${port}`;
    await mock.start();
  });
  afterAll(async () => {
    await relay.close();
    await mock.stop();
    tickets.close();
    contexts.close();
  });

  async function call(model: string, stream: boolean) {
    const ctx = contexts.create();
    ctx.plugins.push({ name: 'llm-proxy', priority: 770, config: llmProxySchema.parse({ provider: 'openai', base_url: `${mock.url}/v1`, auth: { api_key: 'sk-hdr' } }) });
    ctx.identity = { consumerGroups: [] };
    const res = await request(`${relayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { [TICKET_HEADER]: tickets.issue(ctx), 'content-type': 'application/json' },
      body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }),
    });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  it.each([false, true])('a model name with CR/LF/NUL becomes a harmless header value (stream: %s)', async (stream) => {
    for (const model of ['gpt-4o-mini\r\nx-evil: 1', 'gpt\nset-cookie: a=b', 'gpt\u0000x']) {
      const answer = await call(model, stream);
      expect(answer.status).toBe(200);
      expect(answer.headers['x-evil']).toBeUndefined();
      expect(answer.headers['set-cookie']).toBeUndefined();
      expect(String(answer.headers['x-llm-model'])).not.toMatch(/[\r\n\0]/);
      expect(String(answer.headers['x-llm-model'])).toMatch(/^gpt/);
    }
  });
});
