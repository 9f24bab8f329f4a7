import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { UsageEvent } from '../../plugins/runtime/usage-events';
import type { MockProviderServer } from '../support/mock-providers/mock-server';
import { startProxyRelay } from '../llm-proxy/responses/proxy-relay';

/**
 * The relay with llm-proxy alone (../llm-proxy/responses/proxy-relay.ts), for provider end-to-end specs: the official
 * SDKs or plain HTTP with a given llm-proxy config, and the usage events of completed requests.
 */
export interface ProviderRelay {
  openai(config: Record<string, unknown>): OpenAI;
  anthropic(config: Record<string, unknown>): Anthropic;
  post(path: string, body: unknown, config: Record<string, unknown>): Promise<{ status: number; text: string; json(): any }>;
  events: UsageEvent[];
  /** The usage event of the `n`-th completed request (waits for it, bounded). */
  event(n: number): Promise<UsageEvent>;
  close(): Promise<void>;
}

/** Starts the relay and the given mocks (stopped again by `close`). */
export async function startProviderRelay(mocks: MockProviderServer[] = []): Promise<ProviderRelay> {
  const relay = await startProxyRelay(mocks);
  return {
    openai: (config) => new OpenAI({ baseURL: `${relay.url}/v1`, apiKey: 'client-placeholder', maxRetries: 0, fetch: relay.fetchFor(config) }),
    anthropic: (config) => new Anthropic({ baseURL: relay.url, apiKey: 'client-placeholder', maxRetries: 0, fetch: relay.fetchFor(config) }),
    async post(path, body, config) {
      const res = await relay.fetchFor(config)(`${relay.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, text, json: () => JSON.parse(text) };
    },
    events: relay.events,
    async event(n) {
      await relay.completed(n);
      return relay.events[n - 1]!;
    },
    close: () => relay.close(),
  };
}

/** What a provider's e2e spec works with; set in beforeAll. */
export interface ProviderSpecContext {
  relay: ProviderRelay;
  /** llm-proxy's config for the started mock. */
  config: Record<string, unknown>;
  /** The openai SDK with that config. */
  client: OpenAI;
}

/**
 * Registers the hooks of a provider's e2e spec: relay and mock started before all tests (the config built from the
 * mock's URL), stopped after; the mock's records and faults reset before each test.
 */
export function providerSpec(mock: MockProviderServer, configFor: (mockUrl: string) => Record<string, unknown>): ProviderSpecContext {
  const context = {} as ProviderSpecContext;
  beforeAll(async () => {
    context.relay = await startProviderRelay([mock]);
    context.config = configFor(mock.url);
    context.client = context.relay.openai(context.config);
  });
  afterAll(() => context.relay?.close());
  beforeEach(() => mock.reset());
  return context;
}
