import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { resetBreakers } from '../../../../plugins/llm-proxy/routing/breaker';
import { resetLatencies } from '../../../../plugins/llm-proxy/routing/latency';
import { resetQueues } from '../../../../plugins/llm-proxy/routing/queue';
import { resetCooldowns } from '../../../../plugins/llm-proxy/routing/router';
import { llmProxySchema } from '../../../../plugins/llm-proxy/schema';
import { ContextRegistry, type RequestContext } from '../../../../plugins/runtime/context';
import { RelayServer, TICKET_HEADER } from '../../../../plugins/runtime/relay/relay-server';
import { TicketBook } from '../../../../plugins/runtime/relay/tickets';
import { onUsageEvent, type UsageEvent } from '../../../../plugins/runtime/usage-events';
import { PLUGINS } from '../../../../plugins/registry';
import type { MockProviderServer } from '../../../support/mock-providers/mock-server';
import { jsonOrUndefined } from '../../../support/json-or-undefined';

/** Header with which a test names the caller's consumer groups (what Kong would establish; the front strips it). */
export const GROUPS_HEADER = 'x-test-consumer-groups';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
  /** Milliseconds from sending to the end of the answer. */
  ms: number;
}

/**
 * The relay with llm-proxy, behind a small front that plays Kong's part for one llm-proxy config: it issues the
 * relay ticket of each request (so official SDKs can point at `url`) and sets the caller's consumer groups.
 */
export class RoutingGateway {
  readonly events: UsageEvent[] = [];
  private readonly contexts = new ContextRegistry();
  private readonly tickets = new TicketBook<RequestContext>();
  private readonly relay = new RelayServer(this.tickets, PLUGINS);
  private readonly front = http.createServer((req, res) => void this.forward(req, res));
  private relayUrl = '';
  private unsubscribe: () => void = () => undefined;
  private config: unknown;
  url = '';

  static async start(config: Record<string, unknown>): Promise<RoutingGateway> {
    const gw = new RoutingGateway();
    gw.configure(config);
    const { host, port } = await gw.relay.listen();
    gw.relayUrl = `http://${host}:${port}`;
    await new Promise<void>((resolve) => gw.front.listen(0, '127.0.0.1', () => resolve()));
    gw.url = `http://127.0.0.1:${(gw.front.address() as AddressInfo).port}`;
    gw.unsubscribe = onUsageEvent((e) => gw.events.push(e));
    return gw;
  }

  /** A new llm-proxy config (a new plugin instance); breakers, queues and latencies of the process start afresh. */
  configure(config: Record<string, unknown>): void {
    this.config = llmProxySchema.parse(config);
    resetBreakers();
    resetQueues();
    resetLatencies();
    resetCooldowns();
    this.events.length = 0;
  }

  async call(path: string, body?: unknown, headers: Record<string, string> = {}, method = body === undefined ? 'GET' : 'POST'): Promise<Answer> {
    const started = Date.now();
    const res = await request(`${this.url}${path}`, {
      method: method as 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    const json = jsonOrUndefined(text);
    return { status: res.statusCode, headers: res.headers, text, json, ms: Date.now() - started };
  }

  /** Resolves once `n` usage events arrived (they follow the end of the answer). */
  async settled(n: number): Promise<void> {
    for (let i = 0; i < 500 && this.events.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    if (this.events.length < n) throw new Error(`only ${this.events.length} of ${n} requests completed`);
  }

  async stop(): Promise<void> {
    this.unsubscribe();
    await new Promise<void>((resolve) => {
      this.front.close(() => resolve());
      this.front.closeAllConnections();
    });
    await this.relay.close();
    this.tickets.close();
    this.contexts.close();
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const ctx = this.contexts.create();
    ctx.plugins.push({ name: 'llm-proxy', priority: 770, config: this.config });
    const groups = req.headers[GROUPS_HEADER];
    ctx.identity = { consumerGroups: typeof groups === 'string' && groups ? groups.split(',') : [] };
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== GROUPS_HEADER && name !== 'host') headers[name] = value;
    try {
      const upstream = await request(`${this.relayUrl}${req.url}`, {
        method: req.method as 'POST',
        headers: { ...headers, [TICKET_HEADER]: this.tickets.issue(ctx) },
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : req,
      });
      res.writeHead(upstream.statusCode, upstream.headers as http.OutgoingHttpHeaders);
      for await (const chunk of upstream.body) res.write(chunk);
      res.end();
    } catch {
      res.destroy();
    }
  }
}

/**
 * For a describe block: starts the mocks and a gateway before all tests, stops them after; before each test the mocks
 * forget their requests and faults and the gateway takes `config()` afresh (new breakers, queues, latencies).
 */
export function useRoutingGateway(mocks: MockProviderServer[], config: () => Record<string, unknown>): { gw: RoutingGateway } {
  const handle = {} as { gw: RoutingGateway };
  beforeAll(async () => {
    await Promise.all(mocks.map((m) => m.start()));
    handle.gw = await RoutingGateway.start(config());
  });
  afterAll(async () => {
    await handle.gw?.stop();
    await Promise.all(mocks.map((m) => m.stop()));
  });
  beforeEach(() => {
    for (const m of mocks) m.reset();
    handle.gw.configure(config());
  });
  return handle;
}
