import { request } from 'undici';
import { ContextRegistry, type RequestContext } from '../../../plugins/runtime/context';
import { RelayServer, TICKET_HEADER } from '../../../plugins/runtime/relay/relay-server';
import { TicketBook } from '../../../plugins/runtime/relay/tickets';
import { PLUGINS } from '../../../plugins/registry';

describe('relay tickets', () => {
  const contexts = new ContextRegistry();
  let tickets: TicketBook<RequestContext>;
  let relay: RelayServer;
  let base: string;

  beforeAll(async () => {
    tickets = new TicketBook<RequestContext>(200);
    relay = new RelayServer(tickets, PLUGINS);
    const { host, port } = await relay.listen();
    base = `http://${host}:${port}`;
  });
  afterAll(async () => {
    await relay.close();
    tickets.close();
    contexts.close();
  });

  /** A context whose request has no llm-proxy: a valid ticket then gets past the ticket check to a 500. */
  function issue(): string {
    const ctx = contexts.create();
    ctx.identity = { consumerGroups: [] };
    return tickets.issue(ctx);
  }

  async function post(ticket?: string) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (ticket !== undefined) headers[TICKET_HEADER] = ticket;
    const res = await request(`${base}/v1/chat/completions`, { method: 'POST', body: '{}', headers });
    return { status: res.statusCode, body: (await res.body.json()) as { error: { message: string; code: string } } };
  }

  it('listens on loopback only', () => {
    expect(relay.address?.host).toBe('127.0.0.1');
  });

  it('refuses a request without a ticket (403, OpenAI envelope) and counts it', async () => {
    const before = tickets.rejections.missing;
    const r = await post();
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({ code: 'relay_ticket_invalid', message: 'relay access refused: ticket missing' });
    expect(tickets.rejections.missing).toBe(before + 1);
  });

  it('refuses a forged ticket', async () => {
    const r = await post(Buffer.alloc(16, 7).toString('base64url'));
    expect(r.status).toBe(403);
    expect(r.body.error.message).toBe('relay access refused: ticket unknown');
    expect(tickets.rejections.unknown).toBeGreaterThan(0);
  });

  it('accepts a ticket once and refuses its reuse', async () => {
    const ticket = issue();
    const first = await post(ticket);
    expect(first.status).toBe(500); // past the ticket check: no llm-proxy registered on this test context
    expect(first.body.error.code).toBe('proxy_missing');
    const again = await post(ticket);
    expect(again.status).toBe(403);
    expect(again.body.error.message).toBe('relay access refused: ticket reused');
    expect(tickets.rejections.reused).toBe(1);
  });

  it('refuses an expired ticket', async () => {
    const ticket = issue();
    await new Promise((r) => setTimeout(r, 260));
    const r = await post(ticket);
    expect(r.status).toBe(403);
    expect(r.body.error.message).toBe('relay access refused: ticket expired');
    expect(tickets.rejections.expired).toBe(1);
  });
});
