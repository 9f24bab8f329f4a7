import { OpenAiMock } from '../../support/mock-providers/openai-mock';
import { chaos, FlakyUpstream, type Fault } from './support/flaky';
import { RoutingGateway } from './support/gateway';

/**
 * Retries and fallback against a fault-injecting primary: every request succeeds while one target is healthy, waits
 * follow the backoff and the provider's Retry-After, and client errors are never retried.
 */
describe('llm-proxy routing: retries and fallback', () => {
  const mock = new OpenAiMock({ apiKey: 'sk-up', reply: 'fine thanks' });
  let flaky: FlakyUpstream;
  let gw: RoutingGateway;
  const chat = { model: 'chat', messages: [{ role: 'user', content: 'how are you' }] };
  const pass: Fault = { kind: 'pass' };

  const target = (name: string, url: string, extra: Record<string, unknown> = {}) => ({
    name,
    provider: 'openai',
    base_url: `${url}/v1`,
    model: name === 'primary' ? 'gpt-4o-mini' : 'gpt-4o',
    auth: { api_key: 'sk-up' },
    ...extra,
  });
  const chain = (extra: Record<string, unknown> = {}, targets = [target('primary', flaky.url, { timeouts: { first_byte_ms: 100 } }), target('backup', mock.url)]) => ({
    auth: { api_key: 'sk-up' },
    models: [{ name: 'chat', targets }],
    retries: { base_backoff_ms: 1, max_backoff_ms: 5 },
    ...extra,
  });

  beforeAll(async () => {
    await mock.start();
    flaky = new FlakyUpstream(mock.url, () => pass);
    await flaky.start();
    gw = await RoutingGateway.start({ auth: { api_key: 'sk-up' } });
  });
  afterAll(async () => {
    await gw.stop();
    await flaky.stop();
    await mock.stop();
  });
  beforeEach(() => {
    mock.reset();
    flaky.log.length = 0;
  });

  it('answers 100% of 1,000 requests while the primary fails at random with 429/500/503, hangs and resets', async () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const faults = chaos(random);
    flaky.pick = (n) => (random() < 0.3 ? pass : faults(n));
    gw.configure(chain({ circuit_breaker: { enabled: false }, retries: { max_attempts: 3, base_backoff_ms: 1, max_backoff_ms: 5 } }));
    const statuses: number[] = [];
    const attempts: number[] = [];
    let next = 0;
    const worker = async () => {
      while (next < 1000) {
        next++;
        const r = await gw.call('/v1/chat/completions', chat);
        statuses.push(r.status);
        attempts.push(Number(r.headers['x-llm-attempts']));
      }
    };
    await Promise.all(Array.from({ length: 25 }, worker));
    expect(statuses).toHaveLength(1000);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // the faults really happened, of every kind, and were retried or failed over
    const kinds = new Set(flaky.log.map((l) => (l.fault === 'status' ? String(l.status) : l.fault)));
    expect([...kinds].sort()).toEqual(['429', '500', '503', 'hang', 'pass', 'reset']);
    expect(attempts.filter((a) => a > 1).length).toBeGreaterThan(300);
    await gw.settled(1000);
    const reasons = new Set(gw.events.flatMap((e) => ((e.llm_proxy as { attempts: { reason: string }[] }).attempts ?? []).map((a) => a.reason)));
    for (const reason of ['ok', 'upstream_timeout', 'upstream_unreachable', 'upstream_error', 'upstream_rejected']) expect(reasons).toContain(reason);
  }, 60_000);

  it('records every attempt in the usage event and names the serving target in the headers', async () => {
    flaky.pick = () => ({ kind: 'status', status: 503 });
    gw.configure(chain());
    const r = await gw.call('/v1/chat/completions', chat);
    expect(r.status).toBe(200);
    expect(r.headers).toMatchObject({ 'x-llm-attempts': '2', 'x-llm-provider': 'openai', 'x-llm-model': 'gpt-4o', 'x-llm-logical-model': 'chat' });
    await gw.settled(1);
    expect(gw.events[0].llm_proxy).toMatchObject({
      logical_model: 'chat',
      target: 'backup',
      attempts: [
        { target: 'primary', provider: 'openai', model: 'gpt-4o-mini', status: 503, reason: 'upstream_error' },
        { target: 'backup', provider: 'openai', model: 'gpt-4o', status: 200, reason: 'ok' },
      ],
    });
  });

  it('waits as long as Retry-After asks before retrying the same target', async () => {
    flaky.pick = (n) => (n === 0 ? { kind: 'status', status: 429, headers: { 'retry-after': '1' } } : pass);
    gw.configure(chain({ retries: { max_attempts: 2, base_backoff_ms: 1, max_backoff_ms: 5_000 } }, [target('primary', flaky.url)]));
    const r = await gw.call('/v1/chat/completions', chat);
    expect(r.status).toBe(200);
    expect(flaky.log).toHaveLength(2);
    expect(flaky.log[1].at - flaky.log[0].at).toBeGreaterThanOrEqual(990);
  });

  it('honours OpenAI\'s x-ratelimit-reset-requests when the limit is exhausted', async () => {
    const headers = { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '300ms' };
    flaky.pick = (n) => (n === 0 ? { kind: 'status', status: 429, headers } : pass);
    gw.configure(chain({ retries: { max_attempts: 2, base_backoff_ms: 1, max_backoff_ms: 5_000 } }, [target('primary', flaky.url)]));
    expect((await gw.call('/v1/chat/completions', chat)).status).toBe(200);
    expect(flaky.log[1].at - flaky.log[0].at).toBeGreaterThanOrEqual(295);
  });

  it('does not wait past the time budget: a Retry-After beyond it ends the request at once with the 429', async () => {
    flaky.pick = () => ({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
    gw.configure(chain({ retries: { max_attempts: 3, budget_ms: 500, base_backoff_ms: 1, max_backoff_ms: 60_000 } }, [target('primary', flaky.url)]));
    const r = await gw.call('/v1/chat/completions', chat);
    expect(r.status).toBe(429);
    expect(r.headers['retry-after']).toBe('30');
    expect(r.json.error).toMatchObject({ type: 'rate_limit_error' });
    expect(flaky.log).toHaveLength(1);
    expect(r.ms).toBeLessThan(500);
  });

  it('backs off exponentially with full jitter between retries of one target, within max_backoff_ms', async () => {
    flaky.pick = (n) => (n < 3 ? { kind: 'status', status: 500 } : pass);
    gw.configure(chain({ retries: { max_attempts: 4, base_backoff_ms: 40, max_backoff_ms: 60 } }, [target('primary', flaky.url)]));
    expect((await gw.call('/v1/chat/completions', chat)).status).toBe(200);
    const gaps = flaky.log.slice(1).map((l, i) => l.at - flaky.log[i].at);
    expect(gaps).toHaveLength(3);
    // ceilings 40, 60 (80 capped), 60; plus the request's own time on loopback
    expect(gaps[0]).toBeLessThan(40 + 30);
    for (const gap of gaps.slice(1)) expect(gap).toBeLessThan(60 + 30);
  });

  it.each([400, 401, 403, 404])('never retries nor fails over a %i', async (status) => {
    flaky.pick = () => ({ kind: 'status', status });
    gw.configure(chain({ retries: { max_attempts: 5, base_backoff_ms: 1, max_backoff_ms: 5 } }));
    const r = await gw.call('/v1/chat/completions', chat);
    expect(r.status).toBe(status === 401 || status === 403 ? 502 : status);
    expect(flaky.log).toHaveLength(1);
    expect(mock.requests).toHaveLength(0);
    expect(r.headers['x-llm-attempts']).toBe('1');
  });

  it('gives up after max_attempts with the last failure in the client\'s envelope', async () => {
    flaky.pick = () => ({ kind: 'status', status: 503 });
    gw.configure(chain({ retries: { max_attempts: 3, base_backoff_ms: 1, max_backoff_ms: 5 } }, [target('primary', flaky.url)]));
    const r = await gw.call('/v1/chat/completions', chat);
    expect(r.status).toBe(503);
    expect(r.json.error).toMatchObject({ type: 'api_error', code: 'upstream_error' });
    expect(flaky.log).toHaveLength(3);
    expect(r.headers['x-llm-attempts']).toBe('3');
  });

  it('cuts an attempt at its total_ms and fails over', async () => {
    flaky.pick = () => ({ kind: 'hang' });
    gw.configure(chain({}, [target('primary', flaky.url, { timeouts: { total_ms: 150 } }), target('backup', mock.url)]));
    const r = await gw.call('/v1/chat/completions', chat);
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(1_000);
    await gw.settled(1);
    expect((gw.events[0].llm_proxy as { attempts: unknown[] }).attempts[0]).toMatchObject({ target: 'primary', status: 504, reason: 'upstream_timeout' });
  });
});
