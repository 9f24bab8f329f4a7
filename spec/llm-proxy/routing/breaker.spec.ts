import { CircuitBreaker } from '../../../plugins/llm-proxy/routing/breaker';
import { circuitBreakerSchema } from '../../../plugins/llm-proxy/routing/schema';
import { routingMetricsText } from '../../../plugins/llm-proxy/routing/metrics';
import { closePluginStores, storeForPolicy } from '../../../plugins/runtime/store/plugin-store';
import { waitUntilAvailable } from '../../runtime/store/contract';
import { OpenAiMock } from '../../support/mock-providers/openai-mock';
import { startRedisServer } from '../../support/redis-server';
import { FlakyUpstream, type Fault } from './support/flaky';
import { RoutingGateway } from './support/gateway';

const settings = (over: Record<string, unknown>) => circuitBreakerSchema.parse(over);

describe('CircuitBreaker', () => {
  it('opens after failure_threshold consecutive failures, refuses while open, probes after open_s, closes on success', () => {
    const b = new CircuitBreaker('t', settings({ failure_threshold: 3, open_s: 10, half_open_probes: 1 }));
    const t0 = 1_000_000;
    b.onFailure(t0);
    b.onFailure(t0);
    expect(b.tryPass(t0)).toBe(true);
    b.onFailure(t0);
    expect(b.stateAt(t0)).toBe('open');
    expect(b.tryPass(t0 + 9_999)).toBe(false);
    expect(b.tryPass(t0 + 10_000)).toBe(true); // the probe
    expect(b.stateAt(t0 + 10_000)).toBe('half_open');
    expect(b.tryPass(t0 + 10_001)).toBe(false); // one probe at a time
    b.onSuccess(t0 + 10_050);
    expect(b.stateAt(t0 + 10_050)).toBe('closed');
    expect(b.tryPass(t0 + 10_051)).toBe(true);
  });

  it('a failed probe opens it again for open_s', () => {
    const b = new CircuitBreaker('t', settings({ failure_threshold: 1, open_s: 5 }));
    b.onFailure(0);
    expect(b.tryPass(5_000)).toBe(true);
    b.onFailure(5_001);
    expect(b.stateAt(5_002)).toBe('open');
    expect(b.tryPass(10_000)).toBe(false);
    expect(b.tryPass(10_001)).toBe(true);
  });

  it('opens on the error rate over the window once min_requests were seen, and forgets old seconds', () => {
    const b = new CircuitBreaker('t', settings({ failure_threshold: 100, error_rate: 0.5, window_s: 10, min_requests: 10 }));
    // alternate success/failure: never 2 consecutive failures, 50% error rate
    for (let i = 0; i < 9; i++) (i % 2 ? b.onFailure : b.onSuccess).call(b, 1_000_000 + i * 100);
    expect(b.stateAt(1_001_000)).toBe('closed'); // 9 requests < min_requests
    b.onFailure(1_001_000);
    expect(b.stateAt(1_001_000)).toBe('open');

    const c = new CircuitBreaker('t', settings({ failure_threshold: 100, error_rate: 0.5, window_s: 2, min_requests: 4 }));
    c.onFailure(0);
    c.onFailure(0);
    c.onSuccess(0);
    c.onSuccess(5_000); // the failures of second 0 are out of the 2 s window
    c.onSuccess(5_000);
    c.onFailure(5_000);
    expect(c.stateAt(5_000)).toBe('closed');
  });

  it('does nothing when disabled', () => {
    const b = new CircuitBreaker('t', settings({ enabled: false, failure_threshold: 1 }));
    b.onFailure(0);
    expect(b.tryPass(1)).toBe(true);
  });
});

describe('CircuitBreaker shared across Kong nodes through Redis', () => {
  it('a breaker opened on one node keeps the other node\'s traffic away', async () => {
    const redis = await startRedisServer();
    try {
      const config = settings({ failure_threshold: 1, open_s: 30, shared_via_store: true, redis: { port: redis.port, key_prefix: 'breaker-test:' } });
      const store = storeForPolicy({ policy: 'redis', redis: config.redis, fail_mode: 'open', store_timeout_ms: 500 });
      await waitUntilAvailable(store, 3_000);
      const nodeA = new CircuitBreaker('openai|u|m', config, store);
      const nodeB = new CircuitBreaker('openai|u|m', config, store);
      nodeA.onFailure(); // opens on node A, and in Redis with a TTL of open_s
      await new Promise((r) => setTimeout(r, 50));
      expect(await store.get('llm-proxy:breaker:openai|u|m')).not.toBeNull();
      expect(nodeB.tryPass()).toBe(true); // the check stays synchronous: it starts a background read of the flag
      await new Promise((r) => setTimeout(r, 50));
      expect(nodeB.tryPass()).toBe(false); // B never saw a failure, yet keeps its traffic away
      expect(nodeB.isAvailable()).toBe(false);
      nodeA.onSuccess(); // a successful probe on A closes it for everyone
      await new Promise((r) => setTimeout(r, 50));
      expect(await store.get('llm-proxy:breaker:openai|u|m')).toBeNull();
    } finally {
      await closePluginStores();
      await redis.stop();
    }
  });
});

describe('llm-proxy routing: circuit breaker end to end', () => {
  const mock = new OpenAiMock({ apiKey: 'sk-up' });
  let flaky: FlakyUpstream;
  let gw: RoutingGateway;
  let fault: Fault = { kind: 'status', status: 500 };
  const chat = { model: 'chat', messages: [{ role: 'user', content: 'hello' }] };

  beforeAll(async () => {
    await mock.start();
    flaky = new FlakyUpstream(mock.url, () => fault);
    await flaky.start();
    gw = await RoutingGateway.start({
      auth: { api_key: 'sk-up' },
      models: [
        {
          name: 'chat',
          targets: [
            { name: 'primary', provider: 'openai', base_url: `${flaky.url}/v1`, auth: { api_key: 'sk-up' } },
            { name: 'backup', provider: 'openai', base_url: `${mock.url}/v1`, model: 'gpt-4o', auth: { api_key: 'sk-up' } },
          ],
        },
      ],
      circuit_breaker: { failure_threshold: 3, open_s: 1 },
      retries: { base_backoff_ms: 1, max_backoff_ms: 5 },
    });
  });
  afterAll(async () => {
    await gw.stop();
    await flaky.stop();
    await mock.stop();
  });

  it('opens after 3 failures, sends nothing to the open target, probes after open_s and recovers', async () => {
    for (let i = 0; i < 3; i++) expect((await gw.call('/v1/chat/completions', chat)).status).toBe(200);
    expect(flaky.log).toHaveLength(3);
    expect(routingMetricsText()).toMatch(/llm_circuit_breaker_state\{target="openai\|http:\/\/127\.0\.0\.1:\d+\/v1\|\*"\} 2/);

    // open: everything goes to the backup; the primary sees nothing until open_s has passed since it opened
    fault = { kind: 'pass' }; // the primary heals meanwhile, which only a probe can find out
    const openedAt = flaky.log[2].at;
    for (let i = 0; i < 10; i++) expect((await gw.call('/v1/chat/completions', chat)).status).toBe(200);
    for (const seen of flaky.log.slice(3)) expect(seen.at - openedAt).toBeGreaterThanOrEqual(990);

    // after open_s: a probe succeeds, the breaker closes and traffic returns to the primary
    await new Promise((r) => setTimeout(r, Math.max(0, openedAt + 1_300 - Date.now())));
    const probe = await gw.call('/v1/chat/completions', chat);
    expect(probe.status).toBe(200);
    const before = flaky.log.length;
    expect(before).toBeGreaterThanOrEqual(4);
    for (let i = 0; i < 5; i++) expect((await gw.call('/v1/chat/completions', chat)).headers['x-llm-attempts']).toBe('1');
    expect(flaky.log).toHaveLength(before + 5);
    expect(routingMetricsText()).toMatch(/llm_circuit_breaker_state\{target="openai\|http:\/\/127\.0\.0\.1:\d+\/v1\|\*"\} 0/);
  });

  it('answers 503 in the client\'s envelope when every target\'s breaker is open', async () => {
    gw.configure({
      auth: { api_key: 'sk-up' },
      models: [{ name: 'chat', targets: [{ name: 'only', provider: 'openai', base_url: `${flaky.url}/v1`, auth: { api_key: 'sk-up' } }] }],
      circuit_breaker: { failure_threshold: 1, open_s: 30 },
    });
    fault = { kind: 'status', status: 500 };
    expect((await gw.call('/v1/chat/completions', chat)).status).toBe(500);
    const r = await gw.call('/v1/chat/completions', chat);
    expect(r.status).toBe(503);
    expect(r.json.error).toMatchObject({ code: 'targets_unavailable', type: 'api_error' });
    expect(r.json.error.message).toMatch(/circuit open/);
    const a = await gw.call('/v1/messages', { model: 'chat', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(a.status).toBe(503);
    expect(a.json).toMatchObject({ type: 'error', error: { type: 'api_error' } });
  });
});
