import type { Exchange } from '../../plugins/runtime/relay/stage';

/**
 * An Exchange as the relay builds it, without HTTP, for driving a stage's hooks directly (unit tests, benchmarks).
 * The body is given as parsed JSON; anything else can be overridden.
 */
export function testExchange(body: Record<string, unknown> | undefined, overrides: Partial<Exchange> = {}): Exchange {
  return {
    ctx: { id: `req-${Math.random().toString(36).slice(2)}`, createdAt: Date.now(), plugins: [] },
    identity: { consumerGroups: [] },
    forwarded: { path: '/v1/chat/completions', query: '' },
    api: 'openai-chat',
    errorFormat: 'openai',
    method: 'POST',
    headers: {},
    rawBody: body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body)),
    body,
    startedAt: Date.now(),
    signal: new AbortController().signal,
    responseHeaders: {},
    stream: body?.stream === true,
    pluginState: {},
    annotations: {},
    stages: [],
    ...overrides,
  };
}
