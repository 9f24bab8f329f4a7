import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { summarizeUsage } from '../../plugins/runtime/observability/usage-summary';
import type { UsageEvent } from '../../plugins/runtime/usage-events';
import { KongEmulator } from '../support/kong-emulator/emulator';
import type { MockFault } from '../support/mock-providers/mock-server';
import { OpenAiMock } from '../support/mock-providers/openai-mock';
import { freePort } from '../support/redis-server';
import { usageLog } from '../support/usage-log';
import { OtlpReceiver } from './otlp-receiver';

const UPSTREAM_KEY = 'sk-upstream-traffic-mix';
const FIXTURE = join(__dirname, 'fixtures', 'kong.yaml');
const SECRET = `sk-proj-${'Zq7'.repeat(20)}`;
const ABSENT = undefined;
const ADMIN_TOKEN = 'traffic-mix-admin-token';

/** One request of the mix and what must come out of it: the answer, the usage event, Kong's log record. */
interface Scenario {
  name: string;
  consumer: 'alice' | 'bob' | 'carol' | 'dave';
  team: string;
  route?: 'chat' | 'cached' | 'fallback';
  stream?: boolean;
  embeddings?: boolean;
  content?: string;
  model?: string;
  maxTokens?: number;
  /** Injected into the mock provider for this request only (`times` calls). */
  fault?: { fault: MockFault; times?: number };
  status: number;
  /** Fields the usage event must have (toMatchObject). */
  event: Record<string, unknown>;
  /** Response headers Kong's log record must carry (ABSENT: must not), besides those checked for every request. */
  logHeaders?: Record<string, string | RegExp | undefined>;
}

const ok = { status: 200, provider: 'openai', usage: { estimated: false } };

/** The mix. Requests run in this order (the token limit of 2 requests per consumer makes carol's third one fail). */
const SCENARIOS: Scenario[] = [
  {
    name: 'non-streamed chat',
    consumer: 'alice',
    team: 'search',
    status: 200,
    event: { ...ok, stream: false, model: 'gpt-4o-mini', cost: { tags: { team: 'search' } }, token_limit: { decision: 'allowed' }, pii: { decision: 'allowed' } },
    logHeaders: {
      'x-llm-provider': 'openai',
      'x-llm-model': 'gpt-4o-mini',
      'x-llm-total-tokens': /^\d+$/,
      'x-llm-cost-usd': /^0\.\d{6}$/,
      'x-ai-ratelimit-limit-hour-per-consumer': '2',
    },
  },
  {
    name: 'streamed chat',
    consumer: 'alice',
    team: 'search',
    stream: true,
    status: 200,
    event: { ...ok, stream: true, cost: { tags: { team: 'search' } } },
    // headers leave before the stream: tokens and cost of a streamed answer are only in the usage event
    logHeaders: { 'x-llm-provider': 'openai', 'x-llm-total-tokens': ABSENT, 'x-llm-cost-usd': ABSENT },
  },
  {
    name: 'embeddings',
    consumer: 'bob',
    team: 'search',
    embeddings: true,
    status: 200,
    event: { status: 200, api: 'openai-embeddings', provider: 'openai', model: 'text-embedding-3-small', cost: { tags: { team: 'search' } } },
    logHeaders: { 'x-llm-cost-usd': /^0\.\d{6}$/ },
  },
  {
    name: 'PII block (a secret in the prompt)',
    consumer: 'bob',
    team: 'search',
    content: `deploy with ${SECRET}`,
    status: 400,
    event: { answered_by: 'llm-pii-guard', pii: { blocked: true, detected: { secret: 1 } } },
    logHeaders: { 'x-llm-pii': 'secret=1', 'x-llm-total-tokens': ABSENT },
  },
  {
    name: 'provider error',
    consumer: 'bob',
    team: 'search',
    fault: { fault: { status: 503 } },
    status: 503,
    event: { status: 503, error_code: expect.stringMatching(/^upstream/)},
  },
  { name: 'chat, second team', consumer: 'carol', team: 'ads', status: 200, event: { ...ok, stream: false, cost: { tags: { team: 'ads' } } } },
  { name: 'streamed chat, second team', consumer: 'carol', team: 'ads', stream: true, status: 200, event: { ...ok, stream: true } },
  {
    name: 'token-limit rejection',
    consumer: 'carol',
    team: 'ads',
    status: 429,
    event: { answered_by: 'llm-token-limit', token_limit: { decision: 'rejected', rejected_by: 'per-consumer' } },
    logHeaders: { 'x-ai-ratelimit-remaining-hour-per-consumer': '0', 'x-ai-ratelimit-retry-after-hour-per-consumer': /^\d+$/, 'x-llm-total-tokens': ABSENT },
  },
  {
    name: 'budget rejection (worst case above the team budget)',
    consumer: 'dave',
    team: 'ads',
    model: 'gpt-4o',
    maxTokens: 110_000,
    status: 429,
    event: { answered_by: 'llm-cost-attribution', cost: { rejected_by_budget: 'team-daily' } },
  },
  {
    name: 'cache miss',
    consumer: 'dave',
    team: 'platform',
    route: 'cached',
    content: 'what is the capital of France?',
    status: 200,
    event: { ...ok, cache: { status: 'miss' } },
    logHeaders: { 'x-cache-status': 'Miss' },
  },
  {
    name: 'cache hit',
    consumer: 'alice',
    team: 'platform',
    route: 'cached',
    content: 'what is the capital of France?',
    status: 200,
    event: { status: 200, answered_by: 'llm-semantic-cache', cache: { status: 'hit' }, cost: { micro_usd: 0 } },
    logHeaders: { 'x-cache-status': 'Hit', 'x-cache-key-type': 'exact', 'x-llm-cost-usd': ABSENT },
  },
  {
    name: 'provider error with fallback to the second target',
    consumer: 'carol',
    team: 'platform',
    route: 'fallback',
    model: 'smart',
    fault: { fault: { status: 503 }, times: 1 },
    status: 200,
    event: {
      ...ok,
      model: 'gpt-4o',
      llm_proxy: { logical_model: 'smart', attempts: [expect.objectContaining({ target: 'primary', status: 503 }), expect.objectContaining({ target: 'backup', status: 200 })] },
    },
    logHeaders: { 'x-llm-attempts': '2', 'x-llm-logical-model': 'smart', 'x-llm-model': 'gpt-4o' },
  },
];

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

describe('scripted traffic mix through the Kong emulator and the real plugin server', () => {
  let mock: OpenAiMock;
  let kong: KongEmulator;
  let otlp: OtlpReceiver;
  let dir: string;
  let metricsPort: number;
  let dashboardPort: number;
  const answers: Answer[] = [];
  let events: UsageEvent[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-traffic-mix-'));
    const usageFile = join(dir, 'usage.jsonl');
    mock = new OpenAiMock({ apiKey: UPSTREAM_KEY });
    await mock.start();
    otlp = new OtlpReceiver();
    const otlpUrl = await otlp.start();
    metricsPort = await freePort();
    dashboardPort = await freePort();
    kong = await KongEmulator.start({
      config: FIXTURE,
      env: { LLM_OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: UPSTREAM_KEY },
      pluginServer: {
        env: {
          LLM_USAGE_LOG: usageFile,
          LLM_METRICS_PORT: String(metricsPort),
          LLM_OTLP_ENDPOINT: `${otlpUrl}/v1/traces`,
          LLM_DASHBOARD_PORT: String(dashboardPort),
          LLM_ADMIN_TOKEN: ADMIN_TOKEN,
        },
      },
    });
    const log = usageLog(usageFile);
    for (const [i, s] of SCENARIOS.entries()) {
      if (s.fault) mock.setFault(s.fault.fault, s.fault.times);
      try {
        answers.push(await send(s));
      } finally {
        mock.clearFault();
      }
      for (let wait = 0; log.all().length <= i && wait < 200; wait++) await new Promise((r) => setTimeout(r, 10));
    }
    await kong.waitForLogTimers();
    await new Promise((r) => setTimeout(r, 100)); // a stray second event would show up here
    events = log.all() as UsageEvent[];
  }, 60_000);
  afterAll(async () => {
    await kong?.stop();
    await mock?.stop();
    await otlp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function send(s: Scenario): Promise<Answer> {
    const path = s.embeddings ? '/v1/embeddings' : '/v1/chat/completions';
    const body = s.embeddings
      ? { model: 'text-embedding-3-small', input: 'one two three' }
      : { model: s.model ?? 'gpt-4o-mini', stream: s.stream, max_tokens: s.maxTokens ?? 20, messages: [{ role: 'user', content: s.content ?? `hello from ${s.consumer}` }] };
    const res = await request(`${kong.url}/${s.route ?? 'chat'}${path}`, {
      method: 'POST',
      headers: { apikey: `${s.consumer}-key`, 'x-team': s.team, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const headers = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)]));
    return { status: res.statusCode, headers, body: await res.body.text() };
  }

  it('answers each request with the expected status', () => {
    expect(answers.map((a, i) => [SCENARIOS[i].name, a.status])).toEqual(SCENARIOS.map((s) => [s.name, s.status]));
  });

  it('writes exactly one usage event per request, with the consumer, team and outcome of that request', () => {
    expect(events).toHaveLength(SCENARIOS.length);
    expect(new Set(events.map((e) => e.request_id)).size).toBe(SCENARIOS.length);
    SCENARIOS.forEach((s, i) => {
      expect([s.name, events[i]]).toEqual([s.name, expect.objectContaining({ consumer: expect.objectContaining({ username: s.consumer }), route: expect.objectContaining({ name: s.route ?? 'chat' }), status: s.status })]);
      expect([s.name, events[i]]).toMatchObject([s.name, s.event]);
      if (s.status >= 400) expect([s.name, events[i].usage]).toEqual([s.name, undefined]);
      if (s.status === 503) expect([s.name, events[i].answered_by]).toEqual([s.name, undefined]);
      if (s.status === 200 && !events[i].answered_by) expect([s.name, events[i].usage?.total_tokens]).toEqual([s.name, expect.any(Number)]);
      expect(JSON.stringify(events[i])).not.toContain(SECRET);
    });
  });

  it("Kong's log record of each request carries the answer's status and the suite's headers, as logging plugins see them", () => {
    expect(kong.logs).toHaveLength(SCENARIOS.length);
    SCENARIOS.forEach((s, i) => {
      const record = kong.logs[i] as { response: { status: number; headers: Record<string, string> }; consumer?: { username: string }; route: { name: string } };
      expect([s.name, record.response.status, record.consumer?.username, record.route.name]).toEqual([s.name, s.status, s.consumer, s.route ?? 'chat']);
      const suiteHeaders = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => /^x-(llm|cache|ai-ratelimit)-/.test(k)));
      expect([s.name, suiteHeaders(record.response.headers)]).toEqual([s.name, suiteHeaders(answers[i].headers)]);
      for (const [header, expected] of Object.entries(s.logHeaders ?? {})) {
        const actual = record.response.headers[header];
        if (expected === ABSENT) expect([s.name, header, actual]).toEqual([s.name, header, undefined]);
        else if (expected instanceof RegExp) expect([s.name, header, actual]).toEqual([s.name, header, expect.stringMatching(expected)]);
        else expect([s.name, header, actual]).toEqual([s.name, header, expected]);
      }
      const event = events[i];
      if (record.response.headers['x-llm-total-tokens']) expect(record.response.headers['x-llm-total-tokens']).toBe(String(event.usage?.total_tokens));
      if (record.response.headers['x-llm-cost-usd']) expect(record.response.headers['x-llm-cost-usd']).toBe((event.cost as { usd: string }).usd);
      expect(JSON.stringify(record)).not.toContain(SECRET);
    });
  });

  it('/metrics agrees with the usage events', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const sum = (name: string, labels: Record<string, string> = {}) => sumSeries(text, name, labels);
    const withProvider = events.filter((e) => e.provider);
    const total = (pick: (e: UsageEvent) => number) => events.reduce((a, e) => a + pick(e), 0);
    expect(sum('llm_suite_requests_total')).toBe(events.length);
    for (const status of new Set(events.map((e) => e.status))) {
      expect([status, sum('llm_suite_requests_total', { status: String(status) })]).toEqual([status, events.filter((e) => e.status === status).length]);
    }
    expect(sum('kong_ai_llm_requests_total')).toBe(withProvider.length);
    expect(sum('kong_ai_llm_tokens_total', { token_type: 'prompt_tokens' })).toBe(total((e) => (e.provider ? (e.usage?.prompt_tokens ?? 0) : 0)));
    expect(sum('kong_ai_llm_tokens_total', { token_type: 'completion_tokens' })).toBe(total((e) => (e.provider ? (e.usage?.completion_tokens ?? 0) : 0)));
    expect(sum('kong_ai_llm_cost_total')).toBeCloseTo(total((e) => ((e.cost as { micro_usd?: number } | undefined)?.micro_usd ?? 0) / 1e6), 9);
    const summary = summarizeUsage(events);
    expect(summary.rejections).toEqual({ pii: 1, limit: 1, budget: 1 });
    for (const [plugin, reason] of [['pii', 'pii'], ['token_limit', 'limit'], ['cost', 'budget']] as const) {
      expect([plugin, sum('llm_suite_policy_decisions_total', { plugin, decision: 'rejected' })]).toEqual([plugin, summary.rejections[reason]]);
    }
    expect(sum('llm_suite_pii_entities_total', { type: 'secret' })).toBe(1);
    expect(sum('kong_ai_llm_requests_total', { cache_status: 'hit' })).toBe(summary.cache.hits);
    expect(sum('llm_suite_fallbacks_total')).toBe(summary.fallbacks);
    expect(summary.fallbacks).toBe(1);
    expect(sum('llm_suite_provider_attempts_total', { outcome: 'failed' })).toBe(2); // the 503 and the primary's 503
  });

  it("the plugin server's dashboard endpoint summarizes the same events (admin token required)", async () => {
    const url = `http://127.0.0.1:${dashboardPort}/api/summary`;
    expect((await fetch(url)).status).toBe(401);
    const summary = await (await fetch(url, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json();
    expect(summary).toEqual(JSON.parse(JSON.stringify(summarizeUsage(events, { capacity: summary.window.capacity }))));
    expect(summary).toMatchObject({ requests: SCENARIOS.length, fallbacks: 1, cache: { hits: 1, misses: 1 } });
  });

  it('exports a trace per request over OTLP, with a gen_ai CLIENT span per provider call', async () => {
    const spans = await otlp.waitFor((s) => s.filter((x) => x.kind === 2).length >= events.length);
    const roots = spans.filter((s) => s.kind === 2);
    expect(roots.map((r) => r.attributes['llm.request_id']).sort()).toEqual(events.map((e) => e.request_id).sort());
    const fallback = roots.find((r) => r.attributes['llm.request_id'] === events[SCENARIOS.findIndex((s) => s.route === 'fallback')].request_id)!;
    const calls = spans.filter((s) => s.parentSpanId === fallback.spanId);
    expect(calls.map((c) => [c.attributes['gen_ai.request.model'], c.attributes['error.type'] ?? null])).toEqual([
      ['gpt-4o-mini', expect.any(String)],
      ['gpt-4o', null],
    ]);
  });
});

/** Sum of a metric's samples whose labels include `labels`. */
function sumSeries(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}
