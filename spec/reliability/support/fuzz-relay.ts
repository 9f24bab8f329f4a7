import { Readable } from 'node:stream';
import { request } from 'undici';
import { ContextRegistry, type RequestContext } from '../../../plugins/runtime/context';
import { RelayServer, TICKET_HEADER } from '../../../plugins/runtime/relay/relay-server';
import { TicketBook } from '../../../plugins/runtime/relay/tickets';
import { PLUGINS } from '../../../plugins/registry';
import { AnthropicMock } from '../../support/mock-providers/anthropic-mock';
import { OpenAiMock } from '../../support/mock-providers/openai-mock';

/** Keys that must never appear in anything a client is told. */
export const UPSTREAM_OPENAI_KEY = 'sk-fuzz-upstream-openai-4Kq9';
export const UPSTREAM_ANTHROPIC_KEY = 'sk-ant-fuzz-upstream-7Zr2';
export const CLIENT_KEY = 'client-fuzz-key-Vb3x';

export type UpstreamProvider = 'openai' | 'anthropic';

export interface FuzzCall {
  path: string;
  body: Buffer | string;
  provider?: UpstreamProvider;
  headers?: Record<string, string | string[]>;
  /** llm-proxy's max_request_body_bytes for this call (default: the schema's). */
  maxBodyBytes?: number;
  /** Sent without content-length (chunked), so the relay only learns the size while reading. */
  chunked?: boolean;
}

export interface FuzzAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  ms: number;
}

/**
 * The relay as the plugin server runs it: all five plugins on the request with their default configs and llm-proxy
 * in front of an OpenAI or Anthropic mock, so generated requests pass every stage before reaching a provider.
 */
export class FuzzRelay {
  readonly openai = new OpenAiMock({ apiKey: UPSTREAM_OPENAI_KEY, reply: 'fuzz answer' });
  readonly anthropic = new AnthropicMock({ apiKey: UPSTREAM_ANTHROPIC_KEY, reply: 'fuzz answer' });
  private readonly contexts = new ContextRegistry();
  private readonly tickets = new TicketBook<RequestContext>();
  private readonly relay = new RelayServer(this.tickets, PLUGINS);
  private readonly configs = new Map<string, object>();
  private relayUrl = '';

  get inFlight(): number {
    return this.relay.inFlight;
  }

  async start(): Promise<void> {
    const { host, port } = await this.relay.listen();
    this.relayUrl = `http://${host}:${port}`;
    await this.openai.start();
    await this.anthropic.start();
  }

  async stop(): Promise<void> {
    await this.relay.close(1_000);
    await this.openai.stop();
    await this.anthropic.stop();
    this.tickets.close();
    this.contexts.close();
  }

  /** Sends raw bytes to the relay under a fresh ticket; the whole exchange must finish within `timeoutMs`. */
  async send(call: FuzzCall, timeoutMs = 10_000): Promise<FuzzAnswer> {
    const started = Date.now();
    const ctx = this.contexts.create();
    for (const def of PLUGINS) {
      const config = def.name === 'llm-proxy' ? this.proxyConfig(call.provider ?? 'openai', call.maxBodyBytes) : this.defaultConfig(def.name);
      ctx.plugins.push({ name: def.name, priority: def.priority, config });
    }
    ctx.identity = { consumerGroups: [], consumer: { id: 'c-fuzz', username: 'fuzz' } };
    const body = typeof call.body === 'string' ? Buffer.from(call.body) : call.body;
    const res = await request(`${this.relayUrl}${call.path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${CLIENT_KEY}`,
        ...call.headers,
        [TICKET_HEADER]: this.tickets.issue(ctx),
      },
      body: call.chunked ? Readable.from([body]) : body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, ms: Date.now() - started };
  }

  private defaultConfig(name: string): object {
    let config = this.configs.get(name);
    if (!config) this.configs.set(name, (config = PLUGINS.find((p) => p.name === name)!.configSchema.parse({}) as object));
    return config;
  }

  private proxyConfig(provider: UpstreamProvider, maxBodyBytes: number | undefined): object {
    const key = `llm-proxy/${provider}/${maxBodyBytes ?? ''}`;
    let config = this.configs.get(key);
    if (!config) {
      const mock = provider === 'openai' ? this.openai : this.anthropic;
      const raw = {
        provider,
        base_url: `${mock.url}/v1`,
        auth: { api_key: provider === 'openai' ? UPSTREAM_OPENAI_KEY : UPSTREAM_ANTHROPIC_KEY },
        ...(maxBodyBytes === undefined ? {} : { max_request_body_bytes: maxBodyBytes }),
      };
      this.configs.set(key, (config = PLUGINS.find((p) => p.name === 'llm-proxy')!.configSchema.parse(raw) as object));
    }
    return config;
  }
}
