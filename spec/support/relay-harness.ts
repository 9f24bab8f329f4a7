import { request } from 'undici';
import { ContextRegistry, type Identity, type RequestContext } from '../../plugins/runtime/context';
import type { PluginDefinition } from '../../plugins/runtime/plugin-definition';
import { RelayServer, TICKET_HEADER } from '../../plugins/runtime/relay/relay-server';
import { TicketBook } from '../../plugins/runtime/relay/tickets';
import type { ReserveRequest, Store } from '../../plugins/runtime/store/types';
import { onUsageEvent, type UsageEvent } from '../../plugins/runtime/usage-events';
import { llmProxySchema } from '../../plugins/llm-proxy/schema';
import { PLUGINS } from '../../plugins/registry';
import type { OpenAiMock } from './mock-providers/openai-mock';
import { jsonOrUndefined } from './json-or-undefined';

/** A store that records the counter keys it was asked to reserve on (to read counters back in tests). */
export function recordingStore(inner: Store): Store & { keys: Set<string> } {
  const keys = new Set<string>();
  return Object.assign(Object.create(inner) as Store, {
    keys,
    reserve(req: ReserveRequest) {
      for (const item of req.items) keys.add(item.key);
      return inner.reserve(req);
    },
  });
}

export interface RelayCall {
  /** The tested plugin's config (parsed once per distinct object, as Kong starts one instance per config). */
  pluginConfig: object;
  path?: string;
  body?: Record<string, unknown>;
  identity?: Partial<Identity>;
  headers?: Record<string, string>;
}

export interface RelayAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: any;
}

export interface RelayHarness<M extends OpenAiMock> {
  mock: M;
  /** Usage events of completed requests (emitted after every stage's onComplete, i.e. after settlement). */
  events: UsageEvent[];
  /** Resolves once `n` requests in total have completed (bounded wait). */
  completed(n: number): Promise<void>;
  /** Sends a request through the relay as Kong would, with the tested plugin and llm-proxy registered. */
  post(call: RelayCall): Promise<RelayAnswer>;
  close(): Promise<void>;
}

/**
 * The relay with the real llm-proxy in front of a started OpenAI mock, and one plugin under test (its definition may
 * replace `relayStage` to inject a store or a clock). Identity and body have defaults; Kong's X-Real-IP is 10.0.0.1.
 */
export async function startRelayHarness<M extends OpenAiMock>(plugin: PluginDefinition, mock: M): Promise<RelayHarness<M>> {
  const contexts = new ContextRegistry();
  const tickets = new TicketBook<RequestContext>();
  const relay = new RelayServer(tickets, PLUGINS.map((p) => (p.name === plugin.name ? plugin : p)));
  const { host, port } = await relay.listen();
  const mockUrl = (await mock.start()).url;
  const proxyConfig = llmProxySchema.parse({ base_url: `${mockUrl}/v1`, auth: { api_key: mock.options.apiKey ?? 'sk-up' } });
  const parsed = new WeakMap<object, unknown>();
  const events: UsageEvent[] = [];
  const unsubscribe = onUsageEvent((e) => events.push(e));

  return {
    mock,
    events,
    async completed(n) {
      for (let i = 0; i < 500 && events.length < n; i++) await new Promise((r) => setTimeout(r, 10));
      if (events.length < n) throw new Error(`only ${events.length} of ${n} requests completed`);
    },
    async post({ pluginConfig, path = '/v1/chat/completions', body, identity, headers }) {
      let config = parsed.get(pluginConfig);
      if (!config) parsed.set(pluginConfig, (config = plugin.configSchema.parse(pluginConfig)));
      const ctx = contexts.create();
      ctx.plugins.push({ name: plugin.name, priority: plugin.priority, config }, { name: 'llm-proxy', priority: 770, config: proxyConfig });
      ctx.identity = { consumerGroups: [], ...identity };
      const res = await request(`http://${host}:${port}${path}`, {
        method: 'POST',
        headers: { [TICKET_HEADER]: tickets.issue(ctx), 'content-type': 'application/json', 'x-real-ip': '10.0.0.1', ...headers },
        body: JSON.stringify(body ?? { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 20 }),
      });
      const text = await res.body.text();
      const json = jsonOrUndefined(text);
      return { status: res.statusCode, headers: res.headers as Record<string, string>, text, json };
    },
    async close() {
      unsubscribe();
      await relay.close();
      await mock.stop();
      tickets.close();
      contexts.close();
    },
  };
}
