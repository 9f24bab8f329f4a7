import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { KongEmulator } from '../support/kong-emulator/emulator';
import { RpcConnection } from '../support/kong-emulator/rpc-client';
import { OpenAiMock } from '../support/mock-providers/openai-mock';

/**
 * Soak: steady mixed traffic (stream and non-stream, several consumers) through the shipped kong/kong.yaml with all
 * five plugins, for SOAK_SECONDS (CI: 20; `scripts/reliability` runs 300). Memory, handles and the plugin server's
 * tables (events, request contexts, relay tickets) must stay flat, and every request must succeed.
 */
const SOAK_MS = Number(process.env.SOAK_SECONDS ?? 20) * 1_000;
const WORKERS = 4;
const CONFIG = join(__dirname, '..', '..', 'kong', 'kong.yaml');

interface Status {
  Events: number;
  Rss: number;
  Contexts: number;
  Tickets: number;
  Handles: number;
}

describe(`soak (${SOAK_MS / 1000} s of steady traffic, all five plugins)`, () => {
  it('keeps memory, handles and tables flat, and answers every request', async () => {
    const mock = new OpenAiMock({ apiKey: 'sk-soak-upstream', reply: 'steady answer with a few words', chunkDelayMs: 1 });
    await mock.start();
    const dir = mkdtempSync(join(tmpdir(), 'llm-soak-'));
    const socketPath = join(dir, 'llm.sock');
    const env = { LLM_OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: 'sk-soak-upstream', LLM_METRICS_PORT: 'off' };
    const kong = await KongEmulator.start({ config: CONFIG, env, pluginServer: { env, socketPath } });
    const conn = await RpcConnection.connect(socketPath);
    const status = async () => (await conn.call('plugin.GetStatus', null)) as Status;
    try {
      const statuses = new Map<number, number>();
      let sent = 0;
      const send = async (worker: number) => {
        const stream = sent % 3 === 0;
        const n = sent++;
        // 40 distinct questions (the route's cache fills during the warm-up, then answers them), and every other
        // request with no-store so that the provider path runs all along too
        const res = await request(`${kong.url}/openai/v1/chat/completions`, {
          method: 'POST',
          headers: {
            apikey: worker % 2 ? 'team-a-demo-key' : 'team-b-demo-key',
            'content-type': 'application/json',
            ...(n % 2 ? { 'cache-control': 'no-store' } : {}),
          },
          body: JSON.stringify({ model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: `question number ${n % 40}` }], max_tokens: 16 }),
          signal: AbortSignal.timeout(10_000),
        });
        await res.body.text();
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      };
      const run = async (ms: number) => {
        const end = Date.now() + ms;
        await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
          while (Date.now() < end) await send(w);
        }));
      };

      await run(Math.min(3_000, SOAK_MS / 4)); // warm-up: JIT, pools, caches
      const baseline = await status();
      const samples: Status[] = [];
      const sampler = setInterval(() => void status().then((s) => samples.push(s)), 1_000);
      await run(SOAK_MS);
      clearInterval(sampler);
      await new Promise((r) => setTimeout(r, 500)); // let the last usage events and sweeps run
      const end = await status();

      expect([...statuses.keys()]).toEqual([200]);
      expect(sent).toBeGreaterThan(100);
      // nothing left behind once traffic stops
      expect(end.Events).toBe(0);
      expect(end.Contexts).toBe(0);
      expect(end.Tickets).toBe(0);
      expect(end.Handles).toBeLessThanOrEqual(baseline.Handles + 4);
      // tables stay bounded while it runs (≤ a few per concurrent request)
      for (const s of samples) {
        expect(s.Events).toBeLessThanOrEqual(WORKERS * 6);
        expect(s.Contexts).toBeLessThanOrEqual(WORKERS * 2);
      }
      // no growth trend: the last third of the run is not above the first third by more than GC noise
      const third = Math.max(1, Math.floor(samples.length / 3));
      const avg = (xs: Status[]) => xs.reduce((a, s) => a + s.Rss, 0) / xs.length;
      const growthMb = (avg(samples.slice(-third)) - avg(samples.slice(0, third))) / 1e6;
      if (process.env.SOAK_REPORT) {
        process.stderr.write(`soak: ${sent} requests, rss ${(baseline.Rss / 1e6).toFixed(0)} → ${(end.Rss / 1e6).toFixed(0)} MB, growth ${growthMb.toFixed(1)} MB\n`);
      }
      expect(growthMb).toBeLessThan(25);
      expect(readFileSync(`/proc/${kong.pluginServer!.pid}/status`, 'utf8')).toMatch(/State:\s+[RS]/);
    } finally {
      conn.close();
      await kong.stop();
      await mock.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, SOAK_MS + 60_000);
});
