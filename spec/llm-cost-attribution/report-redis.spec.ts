import { runReport } from '../../plugins/runtime/cli/report';
import { closePluginStores, storeForPolicy } from '../../plugins/runtime/store/plugin-store';
import { costConfigSchema } from '../../plugins/llm-cost-attribution/schema';
import { waitUntilAvailable } from '../runtime/store/contract';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { startCostHarness, type CostHarness } from './relay-harness';

/**
 * policy: redis — the plugin as registered (its store from the config) in the relay; then `kong-llm report` reads the
 * same Redis, as an operator would from any machine: the totals equal the sum of the usage events.
 */
describe('report over Redis after traffic through the relay', () => {
  let redis: RedisServer;
  let h: CostHarness;

  beforeAll(async () => {
    redis = await startRedisServer();
    h = await startCostHarness();
  });
  afterAll(async () => {
    await h?.close();
    await closePluginStores();
    await redis?.stop();
  });

  async function report(...args: string[]) {
    const out: string[] = [];
    const code = await runReport([...args, '--format', 'json', '--redis-url', redis.url, '--key-prefix', 'cost-report:'], {
      log: (s) => out.push(s),
      error: (s) => out.push(s),
    });
    expect({ code, out: code === 0 ? [] : out }).toEqual({ code: 0, out: [] });
    return JSON.parse(out.join('\n'));
  }

  it('totals equal the sum of the usage events, per team and per model', async () => {
    const config = {
      policy: 'redis',
      redis: { host: '127.0.0.1', port: redis.port, key_prefix: 'cost-report:' },
      fail_mode: 'closed',
      tags: [{ name: 'team', header: 'x-team' }],
      budgets: [{ name: 'per-team', amount_usd: 0.0005, period: 'day', by: ['tag:team'] }],
    };
    // the plugin's store (one per setting, process-wide) connects in the background: wait for it, as a node warms up
    await waitUntilAvailable(storeForPolicy(costConfigSchema.parse(config)), 3000);
    const first = h.events.length;
    let refused = 0;
    for (let i = 0; i < 60; i++) {
      const team = ['web', 'data', 'ops'][i % 3];
      const embedding = i % 4 === 3;
      const r = await h.call({
        costConfig: config,
        headers: { 'x-team': team },
        identity: { consumer: { id: `c${i % 5}`, username: `user-${i % 5}` } },
        ...(embedding
          ? { path: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: `some text ${i}` } }
          : { body: { model: i % 2 ? 'gpt-4o' : 'gpt-4o-mini', messages: [{ role: 'user', content: `question number ${i}` }], max_tokens: 20 } }),
      });
      if (r.status === 429) refused++;
      else expect(r.status).toBe(200);
    }
    await h.completed(first + 60);
    expect(refused).toBeGreaterThan(0); // the budgets were enforced from the same Redis

    const events = h.events.slice(first).map((e) => e.cost as { micro_usd: number; tags: Record<string, string>; attribution: { model: string } });
    const sum = (f: (e: (typeof events)[number]) => boolean) => events.filter(f).reduce((a, e) => a + e.micro_usd, 0);
    expect(sum(() => true)).toBeGreaterThan(0);

    // aggregates are written after each answer, off the request path: give the last writes a moment to land
    let byTeam = await report('--by', 'tag:team');
    for (let i = 0; i < 30 && byTeam.total.micro_usd !== sum(() => true); i++) {
      await new Promise((r) => setTimeout(r, 100));
      byTeam = await report('--by', 'tag:team');
    }
    expect(byTeam.total.micro_usd).toBe(sum(() => true));
    expect(byTeam.total.rejected).toBe(refused);
    for (const team of ['web', 'data', 'ops']) {
      expect(byTeam.rows.find((r: Record<string, string>) => r['tag:team'] === team).micro_usd).toBe(sum((e) => e.tags.team === team));
    }
    const byModel = await report('--by', 'model');
    for (const model of ['gpt-4o', 'gpt-4o-mini', 'text-embedding-3-small']) {
      expect(byModel.rows.find((r: Record<string, string>) => r.model === model).micro_usd).toBe(sum((e) => e.attribution.model === model));
    }
  });
});
