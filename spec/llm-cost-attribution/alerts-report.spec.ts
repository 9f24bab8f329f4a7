import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';
import { MemoryStore } from '../../plugins/runtime/store/memory';
import { WebhookSender } from '../../plugins/llm-cost-attribution/webhook';
import { costStage } from '../../plugins/llm-cost-attribution/stage';
import { runReport } from '../../plugins/runtime/cli/report';
import { log } from '../../plugins/runtime/logger';
import { costConfig, fakeExchange, runCall, usage } from './helpers';

beforeAll(() => log.setLevel('error'));
afterAll(() => log.setLevel('info'));

async function receiver(handler: (n: number) => number) {
  const bodies: { body: string; signature: string }[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const status = handler(++n);
      if (status === 200) bodies.push({ body, signature: String(req.headers['x-llm-signature']) });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, bodies, calls: () => n, close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }) };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
};

describe('alert webhook', () => {
  it('loses nothing with a flaky receiver: retries with backoff, in order, signed', async () => {
    const hook = await receiver((n) => (n % 3 === 0 ? 200 : 503)); // two failures before each success
    const sender = new WebhookSender({ url: hook.url, secret: 'a-shared-secret-of-16+', timeoutMs: 1000, maxAttempts: 5, backoffMs: 5, maxQueue: 100 });
    for (let i = 0; i < 10; i++) sender.send({ id: `a${i}`, n: i });
    await until(() => hook.bodies.length === 10);
    expect(hook.bodies.map((b) => JSON.parse(b.body).n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const { body, signature } = hook.bodies[0];
    const [, t, mac] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature)!;
    expect(mac).toBe(createHmac('sha256', 'a-shared-secret-of-16+').update(`${t}.${body}`).digest('hex'));
    expect(sender.stats).toMatchObject({ delivered: 10, droppedQueueFull: 0, droppedAfterRetries: 0, failedAttempts: 20 });
    sender.close();
    await hook.close();
  });

  it('keeps memory bounded with a dead receiver: the queue stays at max_queue and drops are counted', async () => {
    const hook = await receiver(() => 500);
    const sender = new WebhookSender({ url: hook.url, timeoutMs: 500, maxAttempts: 3, backoffMs: 5, maxQueue: 20 });
    for (let i = 0; i < 5_000; i++) {
      sender.send({ id: `a${i}` });
      expect(sender.pending).toBeLessThanOrEqual(20);
    }
    await until(() => sender.pending === 0);
    expect(sender.stats.droppedQueueFull).toBeGreaterThanOrEqual(5_000 - 20 - 1);
    expect(sender.stats.droppedQueueFull + sender.stats.droppedAfterRetries).toBe(5_000);
    expect(sender.stats.delivered).toBe(0);
    sender.close();
    await hook.close();
  });

  it('budget thresholds reach the webhook once per period through a flaky receiver', async () => {
    const hook = await receiver((n) => (n % 2 === 0 ? 200 : 502));
    const store = new MemoryStore();
    const config = costConfig({
      budgets: [{ name: 'b', amount_usd: 0.01, period: 'day', thresholds: [0.25, 0.5, 0.75] }],
      alerts: { webhook: { url: hook.url, backoff_ms: 10, max_attempts: 4 } },
    });
    const stage = costStage(config, { store });
    for (let i = 0; i < 40; i++) await runCall(stage, fakeExchange(stage, { body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], max_tokens: 50 } }), usage(5, 50));
    await until(() => hook.bodies.length >= 4);
    await new Promise((r) => setTimeout(r, 100));
    const received = hook.bodies.map((b) => JSON.parse(b.body));
    expect(received.filter((a) => a.type === 'budget_threshold').map((a) => a.threshold)).toEqual([0.25, 0.5, 0.75]);
    expect(received.filter((a) => a.type === 'budget_exhausted')).toHaveLength(1);
    await store.close();
    await hook.close();
  });
});

describe('report', () => {
  it('totals equal the sum of the usage events for a scripted traffic mix, by every dimension', async () => {
    const store = new MemoryStore();
    const config = costConfig({
      tags: [{ name: 'team', header: 'x-team' }, { name: 'feature', header: 'x-feature' }],
      budgets: [{ name: 'per-team', amount_usd: 0.05, period: 'day', by: ['tag:team'] }],
    });
    const stage = costStage(config, { store });
    const events: { micro: number; team: string; model: string; consumer: string }[] = [];
    const models = ['gpt-4o', 'gpt-4o-mini', 'claude-3-5-haiku-20241022', 'text-embedding-3-small'];
    for (let i = 0; i < 300; i++) {
      const model = models[i % models.length];
      const team = ['web', 'data', 'ops'][i % 3];
      const consumer = ['ann', 'ben', 'cid', 'dee', 'eve'][i % 5];
      const embedding = model.startsWith('text-embedding');
      const body = embedding ? { model, input: `text ${i}` } : { model, messages: [{ role: 'user', content: `q ${i}` }], max_tokens: 200 };
      const ex = fakeExchange(stage, { consumer, headers: { 'x-team': team, 'x-feature': `f${i % 4}` }, body, api: embedding ? 'openai-embeddings' : 'openai-chat' });
      const { early } = await runCall(stage, ex, usage(3 + (i % 7), embedding ? 0 : 10 + (i % 150), { cachedTokens: i % 2 }), { fail: i % 11 === 0 });
      const micro = (ex.annotations.cost as { micro_usd: number }).micro_usd;
      if (!early) events.push({ micro, team, model, consumer });
    }
    const sum = (f: (e: (typeof events)[number]) => boolean) => events.filter(f).reduce((a, e) => a + e.micro, 0);
    const report = async (...args: string[]) => {
      const out: string[] = [];
      expect(await runReport([...args, '--format', 'json'], { log: (s) => out.push(s), error: (s) => out.push(s) }, { store })).toBe(0);
      return JSON.parse(out.join('\n'));
    };
    const total = sum(() => true);
    for (const by of ['consumer', 'tag:team', 'model', 'route', 'tag:feature', 'tag:team,model']) {
      const r = await report('--by', by);
      expect(r.total.micro_usd).toBe(total);
      expect(r.rows.reduce((a: number, row: { micro_usd: number }) => a + row.micro_usd, 0)).toBe(total);
    }
    const byTeam = await report('--by', 'tag:team');
    for (const team of ['web', 'data', 'ops']) {
      expect(byTeam.rows.find((r: Record<string, string>) => r['tag:team'] === team).micro_usd).toBe(sum((e) => e.team === team));
    }
    const csv: string[] = [];
    await runReport(['--by', 'model', '--format', 'csv'], { log: (s) => csv.push(s), error: (s) => csv.push(s) }, { store });
    expect(csv.join('\n').split('\n')[0]).toBe('model,usd,requests,prompt_tokens,completion_tokens,rejected');
    const table: string[] = [];
    await runReport(['--by', 'tag:team'], { log: (s) => table.push(s), error: (s) => table.push(s) }, { store });
    expect(table.join('\n')).toMatch(/TOTAL\s+\d+\.\d{6}/);
    expect(await runReport(['--by', 'colour'], { log: () => {}, error: () => {} }, { store })).toBe(2);
    await store.close();
  });
});
