import { startProxyRelay, type ProxyRelay } from '../../llm-proxy/responses/proxy-relay';
import { BedrockMock, type BedrockMockOptions } from '../../support/mock-providers/bedrock-mock';

export const REGION = 'eu-west-3';
export const CREDENTIALS = { accessKeyId: 'AKIAMOCKBEDROCK0001', secretAccessKey: 'mock/secret+key/for-sigv4-tests', sessionToken: 'mock-session-token-1' };
export const MODEL = 'anthropic.claude-3-5-haiku-20241022-v1:0';

/**
 * The relay with llm-proxy alone (../../llm-proxy/responses/proxy-relay.ts) in front of a Bedrock mock. `fetch`, for
 * the official SDKs, sends each request with the llm-proxy config last given to `configure`.
 */
export function relayWithBedrock(options: Partial<BedrockMockOptions> = {}) {
  const mock = new BedrockMock({ region: REGION, credentials: CREDENTIALS, ...options });
  let relay: ProxyRelay | undefined;
  let config: Record<string, unknown> = {};
  const started = () => {
    if (!relay) throw new Error('relayWithBedrock: not started');
    return relay;
  };
  const bedrockOptions = () => ({
    region: REGION,
    access_key_id: CREDENTIALS.accessKeyId,
    secret_access_key: CREDENTIALS.secretAccessKey,
    session_token: CREDENTIALS.sessionToken,
  });

  return {
    mock,
    get url() {
      return started().url;
    },
    get events() {
      return started().events;
    },
    /** The usage event of the `n`-th completed request (waits for it, bounded). */
    async event(n: number) {
      await started().completed(n);
      return started().events[n - 1];
    },
    /**
     * llm-proxy's config for the next requests; defaults to the mock with the test credentials. The circuit breaker
     * is off: the specs provoke failures on purpose, one after the other.
     */
    configure(overrides: Record<string, unknown> = {}, bedrock: Record<string, unknown> = bedrockOptions()) {
      config = { provider: 'bedrock', base_url: mock.url, options: { bedrock }, circuit_breaker: { enabled: false }, ...overrides };
    },
    bedrockOptions,
    fetch: ((input: string | URL | Request, init?: RequestInit) => started().fetchFor(config)(input, init)) as typeof fetch,
    async start() {
      relay = await startProxyRelay([mock]);
      this.configure();
    },
    stop: () => relay?.close(),
  };
}
