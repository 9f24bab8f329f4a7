import { MemoryStore } from '../../plugins/runtime/store/memory';
import { costConfigSchema } from '../../plugins/llm-cost-attribution/schema';
import { costStage } from '../../plugins/llm-cost-attribution/stage';
import { budgetCounters } from '../../plugins/llm-cost-attribution/budgets';
import { costConfig, fakeExchange, runCall, usage } from './helpers';

/** gpt-4o: 2.5 micro-USD per prompt token, 10 per completion token; usage(8, 100) settles 1 020 micro-USD. */
const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 100 };

describe('rolling budgets (a period in seconds with rolling: true)', () => {
  const config = costConfig({ budgets: [{ name: 'hourly', amount_usd: 0.01, period: '3600s', rolling: true }] });
  const HOUR = 3_600_000;

  it('count the spend of the last period, not of a fixed window: a new clock hour does not reset them', async () => {
    const store = new MemoryStore();
    let clock = Date.parse('2025-06-02T10:50:00Z');
    const stage = costStage(config, { store, now: () => clock });
    const call = () => runCall(stage, fakeExchange(stage, { body: chat }), usage(8, 100));
    let admitted = 0;
    for (let i = 0; i < 20 && !(await call()).early; i++) admitted++;
    expect(admitted).toBe(9); // 9 × 1 020 = 9 180; a 10th worst case (~1 030) does not fit in 10 000

    clock = Date.parse('2025-06-02T11:05:00Z'); // a fixed 3600s window would have started afresh at 11:00
    const refused = await call();
    expect(refused.early?.status).toBe(429);
    expect(JSON.parse(refused.early!.body).error.message).toMatch(/^Budget exceeded for budget hourly: \$0\.01\/3600s rolling, \$0\.01 used \(budget hourly\)/);
    // spend is released a sub-bucket (5 min) at a time: Retry-After points at the end of the current one
    expect(Number(refused.early!.headers!['retry-after'])).toBe(300);

    clock = Date.parse('2025-06-02T10:50:00Z') + HOUR + 5 * 60_000; // the sub-bucket of 10:50 has left the window
    expect((await call()).early).toBeUndefined();
    await store.close();
  });

  it('never let the spend of any one-period interval pass the cap, under steady traffic across sub-buckets', async () => {
    const store = new MemoryStore();
    const start = Date.parse('2025-06-02T00:00:00Z');
    let clock = start;
    const stage = costStage(config, { store, now: () => clock });
    const spends: { at: number; micro: number }[] = [];
    for (let minute = 0; minute < 240; minute++) {
      clock = start + minute * 60_000;
      const { early, ex } = await runCall(stage, fakeExchange(stage, { body: chat }), usage(8, 100));
      if (!early) spends.push({ at: clock, micro: (ex.annotations.cost as { micro_usd: number }).micro_usd });
    }
    for (const s of spends) {
      const inHour = spends.filter((o) => o.at > s.at - HOUR && o.at <= s.at).reduce((a, o) => a + o.micro, 0);
      expect(inHour).toBeLessThanOrEqual(10_000);
    }
    // and the budget is used, not starved: about 9 calls per hour over 4 hours
    expect(spends.length).toBeGreaterThanOrEqual(30);
    await store.close();
  });

  it('read 12 earlier sub-buckets of period/12 plus the current one', () => {
    const [c] = budgetCounters(config.budgets, { tags: {}, consumer_groups: [] } as never, Date.parse('2025-06-02T10:52:00Z'));
    expect(c.earlier).toHaveLength(12);
    const index = Date.parse('2025-06-02T10:50:00Z') / 300_000;
    expect(c.key).toBe(`cost:b:hourly::r3600s:${index}`);
    expect(c.earlier[0]).toBe(`cost:b:hourly::r3600s:${index - 12}`);
    expect(c.slot).toEqual({ id: `r3600s:${index}`, startMs: (index - 12) * 300_000, endMs: (index + 1) * 300_000 });
  });

  it('need a period in seconds', () => {
    const parsed = costConfigSchema.safeParse({ budgets: [{ name: 'b', amount_usd: 1, period: 'day', rolling: true }] });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain('rolling needs a period in seconds');
  });
});
