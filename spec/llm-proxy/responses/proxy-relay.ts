import { ContextRegistry, type RequestContext } from '../../../plugins/runtime/context';
import { llmProxySchema } from '../../../plugins/llm-proxy/schema';
import { RelayServer, TICKET_HEADER } from '../../../plugins/runtime/relay/relay-server';
import { TicketBook } from '../../../plugins/runtime/relay/tickets';
import { onUsageEvent, type UsageEvent } from '../../../plugins/runtime/usage-events';
import { PLUGINS } from '../../../plugins/registry';
import type { MockProviderServer } from '../../support/mock-providers/mock-server';

/**
 * The relay with only llm-proxy, and the provider mocks behind it, for SDK clients without Kong: `fetchFor(config)` is
 * a fetch that does what Kong does for each request (a fresh single-use ticket for a context with that llm-proxy
 * config), to hand to an SDK.
 */
export interface ProxyRelay {
  url: string;
  events: UsageEvent[];
  fetchFor(config: Record<string, unknown>): typeof fetch;
  /** Resolves once `n` requests in total have completed (bounded wait). */
  completed(n: number): Promise<void>;
  /** Forgets the mocks' recorded requests and faults. */
  resetMocks(): void;
  /** Stops the relay and the mocks. */
  close(): Promise<void>;
}

/** Starts the relay and the given mocks. */
export async function startProxyRelay(mocks: MockProviderServer[]): Promise<ProxyRelay> {
  await Promise.all(mocks.map((m) => m.start()));
  const contexts = new ContextRegistry();
  const tickets = new TicketBook<RequestContext>();
  const relay = new RelayServer(tickets, PLUGINS);
  const { host, port } = await relay.listen();
  const events: UsageEvent[] = [];
  const unsubscribe = onUsageEvent((e) => events.push(e));
  return {
    url: `http://${host}:${port}`,
    events,
    fetchFor(config) {
      const parsed = llmProxySchema.parse(config);
      return (input, init) => {
        const ctx = contexts.create();
        ctx.plugins.push({ name: 'llm-proxy', priority: 770, config: parsed });
        ctx.identity = { consumerGroups: [] };
        const headers = new Headers(init?.headers);
        headers.set(TICKET_HEADER, tickets.issue(ctx));
        return fetch(input, { ...init, headers });
      };
    },
    async completed(n) {
      for (let i = 0; i < 500 && events.length < n; i++) await new Promise((r) => setTimeout(r, 10));
      if (events.length < n) throw new Error(`only ${events.length} of ${n} requests completed`);
    },
    resetMocks: () => mocks.forEach((m) => m.reset()),
    async close() {
      unsubscribe();
      await relay.close();
      await Promise.all(mocks.map((m) => m.stop()));
      tickets.close();
      contexts.close();
    },
  };
}
