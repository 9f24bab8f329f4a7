import { MemoryStore } from '../../plugins/runtime/store/memory';
import { createStore } from '../../plugins/runtime/store';
import type { Store } from '../../plugins/runtime/store/types';
import { costStage } from '../../plugins/llm-cost-attribution/stage';
import type { Alert } from '../../plugins/llm-cost-attribution/alerts';
import { runReport } from '../../plugins/runtime/cli/report';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { waitUntilAvailable } from '../runtime/store/contract';
import { costConfig, fakeExchange, runCall, usage } from './helpers';

const chat = (content = 'hello there', extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o', messages: [{ role: 'user', content }], max_tokens: 100, ...extra });
const annotationOf = (ex: { annotations: Record<string, unknown> }) => ex.annotations.cost as { micro_usd: number; usd: string; tags: Record<string, string>; budgets: unknown[]; price_source: string };

describe('llm-cost-attribution stage', () => {
  let store: MemoryStore;
  beforeEach(() => {
    store = new MemoryStore();
  });
  afterEach(() => store.close());

  it('prices the call, attributes it and adds the cost header on a non-streamed answer', async () => {
    const stage = costStage(costConfig({ tags: [{ name: 'team', header: 'x-team' }, { name: 'env', header: 'x-env' }] }), { store });
    const ex = fakeExchange(stage, { consumer: 'alice', groups: ['data'], headers: { 'x-team': 'data-science' }, body: chat() });
    await runCall(stage, ex, usage(1000, 500, { cachedTokens: 400 }));
    expect(ex.responseHeaders['x-llm-cost-usd']).toBe('0.007000');
    expect(annotationOf(ex)).toMatchObject({
      micro_usd: 7000,
      usd: '0.007000',
      tags: { team: 'data-science', env: 'none' },
      attribution: { consumer: 'alice', consumer_groups: ['data'], route: 'chat', service: 'openai', provider: 'openai', model: 'gpt-4o' },
    });
    expect(annotationOf(ex).price_source).toMatch(/^catalog:/);
  });

  it('takes tags from consumer tags before headers, and folds values outside allowed_values into "other"', async () => {
    const stage = costStage(
      costConfig({ tags: [{ name: 'team', header: 'x-team', consumer_tag_prefix: 'team:' }, { name: 'env', header: 'x-env', allowed_values: ['dev', 'prod'] }] }),
      { store },
    );
    const ex = fakeExchange(stage, { consumer: 'bob', headers: { 'x-team': 'spoofed', 'x-env': 'qa;drop' }, body: chat() });
    (ex.identity.consumer as { tags?: string[] }).tags = ['owner:x', 'team:payments'];
    await runCall(stage, ex, usage(10, 10));
    expect(annotationOf(ex).tags).toEqual({ team: 'payments', env: 'other' });
  });

  describe('unknown models', () => {
    const unknown = { model: 'mystery-model-9', messages: [{ role: 'user', content: 'hi' }] };

    it('block: refuses before the provider is called, naming the model, in the client\'s error format', async () => {
      const stage = costStage(costConfig({ unknown_model: 'block' }), { store });
      const { early, ex } = await runCall(stage, fakeExchange(stage, { body: unknown }), usage(10, 10));
      expect(early?.status).toBe(403);
      expect(JSON.parse(early!.body).error).toMatchObject({ code: 'model_not_priced', type: 'permission_error' });
      expect(JSON.parse(early!.body).error.message).toContain('mystery-model-9');
      expect(ex.usage).toBeUndefined();
    });

    it('default_price: counts at the configured default', async () => {
      const stage = costStage(costConfig({ unknown_model: 'default_price', default_price: { input: 10, output: 20 } }), { store });
      const { ex } = await runCall(stage, fakeExchange(stage, { body: unknown }), usage(100, 100));
      expect(annotationOf(ex)).toMatchObject({ micro_usd: 3000, price_source: 'default' });
    });

    it('zero_and_alert: counts $0, labelled as such, and alerts once per model per day', async () => {
      const alerts: Alert[] = [];
      const stage = costStage(costConfig({ unknown_model: 'zero_and_alert' }), { store, onAlert: (a) => alerts.push(a) });
      for (let i = 0; i < 3; i++) {
        const { ex } = await runCall(stage, fakeExchange(stage, { body: unknown }), usage(100, 100));
        expect(annotationOf(ex)).toMatchObject({ micro_usd: 0, price_source: 'zero' });
      }
      expect(alerts.map((a) => [a.type, a.model])).toEqual([['unknown_model', 'mystery-model-9']]);
    });
  });

  describe('budgets', () => {
    const budgetConfig = (extra: Record<string, unknown> = {}) =>
      costConfig({
        tags: [{ name: 'team', header: 'x-team' }, { name: 'env', header: 'x-env' }],
        budgets: [{ name: 'team-daily', amount_usd: 0.01, period: 'day', by: ['tag:team', 'tag:env'], thresholds: [0.5, 0.8, 1] }],
        ...extra,
      });
    const teamRequest = { headers: { 'x-team': 'data-science', 'x-env': 'dev' }, body: chat() };

    it('refuses with 429, a message naming the budget, and Retry-After until the period ends', async () => {
      const stage = costStage(budgetConfig(), { store });
      let refused;
      for (let i = 0; i < 50 && !refused; i++) {
        const r = await runCall(stage, fakeExchange(stage, teamRequest), usage(8, 100));
        refused = r.early;
      }
      expect(refused?.status).toBe(429);
      const err = JSON.parse(refused!.body).error;
      expect(err.code).toBe('budget_exceeded');
      expect(err.message).toMatch(/^Budget exceeded for team data-science in env dev: \$0\.01\/day, \$0\.01 used \(budget team-daily\); this request may cost up to \$0\.00$/);
      const retryAfter = Number(refused!.headers!['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(86_400);
      // another team is not affected
      const other = await runCall(stage, fakeExchange(stage, { ...teamRequest, headers: { 'x-team': 'web', 'x-env': 'dev' } }), usage(8, 100));
      expect(other.early).toBeUndefined();
    });

    it('answers 402 when configured', async () => {
      const stage = costStage(budgetConfig({ over_budget_status: 402 }), { store });
      let status = 0;
      for (let i = 0; i < 50 && status === 0; i++) status = (await runCall(stage, fakeExchange(stage, teamRequest), usage(8, 100))).early?.status ?? 0;
      expect(status).toBe(402);
    });

    it('refunds the reservation when the call fails, and settles the actual cost otherwise', async () => {
      const stage = costStage(budgetConfig(), { store });
      const failed = await runCall(stage, fakeExchange(stage, teamRequest), undefined, { fail: true });
      expect(annotationOf(failed.ex).micro_usd).toBe(0);
      const ok = await runCall(stage, fakeExchange(stage, teamRequest), usage(8, 20));
      const key = (ok.ex.annotations.cost as { budgets: { window_start: string }[] }).budgets.length;
      expect(key).toBe(1);
      const { totals } = await firstCounter(store, stage);
      expect(totals).toBe(8 * 2.5 + 20 * 10);
    });

    it('caps the completion upstream when the request sets none, so the reservation holds', async () => {
      const stage = costStage(budgetConfig({ default_max_completion_tokens: 300 }), { store });
      const ex = fakeExchange(stage, { ...teamRequest, body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] } });
      await stage.onRequest!(ex);
      expect(ex.body!.max_completion_tokens).toBe(300);
    });

    it('fires each threshold exactly once per period, whatever the traffic', async () => {
      const alerts: Alert[] = [];
      const stage = costStage(budgetConfig(), { store, onAlert: (a) => alerts.push(a) });
      for (let i = 0; i < 60; i++) await runCall(stage, fakeExchange(stage, teamRequest), usage(8, 100));
      const thresholds = alerts.filter((a) => a.type === 'budget_threshold').map((a) => a.threshold);
      expect(thresholds).toEqual([0.5, 0.8]);
      expect(alerts.filter((a) => a.type === 'budget_exhausted')).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ budget: 'team-daily', dimensions: { 'tag:team': 'data-science', 'tag:env': 'dev' }, period: 'day' });
    });
  });
});

/** The one budget counter's total (reserved + settled) the stage wrote. */
async function firstCounter(store: Store, stage: ReturnType<typeof costStage>): Promise<{ totals: number }> {
  void stage;
  const keys = [...(store as unknown as { counters: Map<string, unknown> }).counters.keys()].filter((k) => k.startsWith('cost:b:'));
  const [totals] = await store.totals(keys);
  return { totals };
}

describe.each(['memory', 'redis'] as const)('64 concurrent clients against one budget (%s store)', (kind) => {
  let redis: RedisServer | undefined;
  let store: Store;
  beforeAll(async () => {
    if (kind === 'redis') redis = await startRedisServer();
    store = kind === 'redis' ? createStore({ type: 'redis', url: redis!.url, keyPrefix: 'cost-test:' }) : new MemoryStore();
    await waitUntilAvailable(store, 3000);
  });
  afterAll(async () => {
    await store.close();
    await redis?.stop();
  });

  it('never settles more than the cap, and the settled total is the sum of the admitted requests\' costs', async () => {
    const cap = 0.05;
    const stage = costStage(costConfig({ budgets: [{ name: 'shared', amount_usd: cap, period: 'day' }], fail_mode: 'closed', store_timeout_ms: 2000 }), { store });
    const admitted: number[] = [];
    let refused = 0;
    const client = async (c: number) => {
      for (let i = 0; i < 6; i++) {
        const ex = fakeExchange(stage, { consumer: `client-${c}`, body: chat(`request ${c} ${i}`) });
        // the provider answers at most max_tokens (100) and no more prompt than the tokenizer estimated
        const { early } = await runCall(stage, ex, usage(5, 1 + ((c * 7 + i * 13) % 100)));
        if (early) refused++;
        else admitted.push(annotationOf(ex).micro_usd);
      }
    };
    await Promise.all(Array.from({ length: 64 }, (_, c) => client(c)));
    const settled = admitted.reduce((a, b) => a + b, 0);
    const keys = [`cost:b:shared::day:UTC:${startOfUtcDay()}`];
    const [counter] = await store.totals(keys);
    expect(counter).toBe(settled);
    expect(settled).toBeLessThanOrEqual(cap * 1_000_000);
    expect(refused).toBeGreaterThan(0);
    expect(admitted.length).toBeGreaterThan(10);
  });
});

function startOfUtcDay(): number {
  const d = new Date();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

describe('the runaway job', () => {
  it('is stopped at its cap, its team\'s report shows the spend, and the spike alert fired', async () => {
    const store = new MemoryStore();
    let clock = Date.parse('2025-06-02T08:00:00Z');
    const alerts: Alert[] = [];
    const config = costConfig({
      tags: [{ name: 'team', header: 'x-team' }],
      budgets: [{ name: 'team-daily', amount_usd: 2, period: 'day', by: ['tag:team'] }],
      alerts: { spike: { window_seconds: 60, baseline_windows: 10, factor: 5, min_usd: 0.05 } },
    });
    const stage = costStage(config, { store, now: () => clock, onAlert: (a) => alerts.push(a) });
    const req = (content: string) => ({ consumer: 'nightly-job', headers: { 'x-team': 'data-science' }, body: chat(content, { max_tokens: 1000 }) });
    let eventsMicro = 0;
    // ten quiet minutes: one small call a minute
    for (let m = 0; m < 10; m++) {
      const { ex } = await runCall(stage, fakeExchange(stage, req(`weekly ${m}`)), usage(10, 50));
      eventsMicro += annotationOf(ex).micro_usd;
      clock += 60_000;
    }
    expect(alerts.filter((a) => a.type === 'spend_spike')).toHaveLength(0);
    // then the mis-scheduled job in a tight loop
    let stoppedAt = -1;
    for (let i = 0; i < 10_000; i++) {
      const { early, ex } = await runCall(stage, fakeExchange(stage, req(`loop ${i}`)), usage(10, 900));
      if (early) {
        stoppedAt = i;
        expect(early.status).toBe(429);
        break;
      }
      eventsMicro += annotationOf(ex).micro_usd;
      clock += 50;
    }
    expect(stoppedAt).toBeGreaterThan(100);
    expect(eventsMicro).toBeLessThanOrEqual(2_000_000);
    const spikes = alerts.filter((a) => a.type === 'spend_spike');
    expect(spikes).toHaveLength(1);
    expect(spikes[0].dimensions).toEqual({ consumer: 'nightly-job' });
    expect(alerts.filter((a) => a.type === 'budget_threshold').map((a) => a.threshold)).toEqual([0.5, 0.8]);

    const lines: string[] = [];
    const code = await runReport(['--by', 'tag:team', '--format', 'json', '--from', '2025-06-02'], { log: (s) => lines.push(s), error: (s) => lines.push(s) }, { store });
    expect(code).toBe(0);
    const report = JSON.parse(lines.join('\n'));
    expect(report.rows).toEqual([expect.objectContaining({ 'tag:team': 'data-science', micro_usd: eventsMicro, rejected: 1 })]);
    await store.close();
  });
});
