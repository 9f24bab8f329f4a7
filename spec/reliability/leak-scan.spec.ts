import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { KongEmulator } from '../support/kong-emulator/emulator';
import { OpenAiMock } from '../support/mock-providers/openai-mock';
import { freePort } from '../support/redis-server';

/**
 * Everything the suite writes during a varied run — the plugin server's log lines, usage events, the metrics page,
 * every answer's headers and every error body — is captured and scanned for the provider key, the clients' keys and
 * the PII values sent in prompts. None may appear anywhere. Successful answers may hold the client's own PII (a
 * pseudonymized prompt's answer is restored for its sender) but no key, and the provider sees no original.
 */
const UPSTREAM_KEY = 'sk-leakscan-upstream-Zp81';
const CLIENT_KEYS = ['team-a-demo-key', 'team-b-demo-key'];
const WRONG_KEY = 'wrong-client-key-Lk22';
const PII = {
  email: 'jane.leak@acme-widgets.com',
  phone: '+1 415-555-0172',
  card: '4111 1111 1111 1111',
  ssn: '123-45-6789',
  awsKey: 'AKIAIOSFODNN7LEAKED1',
};
const CONFIG = join(__dirname, '..', '..', 'kong', 'kong.yaml');

describe('nothing the suite writes holds a key or a PII original', () => {
  it('scans logs, usage events, metrics and answers of a varied run', async () => {
    const mock = new OpenAiMock({ apiKey: UPSTREAM_KEY }); // echoes the prompt back: PII would come back if it got through
    await mock.start();
    const dir = mkdtempSync(join(tmpdir(), 'llm-leak-'));
    const usageFile = join(dir, 'usage.jsonl');
    const metricsPort = await freePort();
    const env = {
      LLM_OPENAI_BASE_URL: `${mock.url}/v1`,
      OPENAI_API_KEY: UPSTREAM_KEY,
      LLM_USAGE_LOG: usageFile,
      LLM_METRICS_PORT: String(metricsPort),
      LLM_LOG_LEVEL: 'debug',
    };
    const kong = await KongEmulator.start({ config: CONFIG, env, pluginServer: { env } });
    const written: string[] = [];
    /** Successful answers: with pseudonymization the client rightly gets its own values back (never the provider). */
    const ownAnswers: string[] = [];
    const capture = async (path: string, key: string, body: unknown, extra: Record<string, string> = {}) => {
      const res = await request(`${kong.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...extra },
        body: JSON.stringify(body),
      });
      const text = await res.body.text();
      written.push(JSON.stringify(res.headers));
      (res.statusCode < 400 ? ownAnswers : written).push(text);
      return res.statusCode;
    };
    try {
      const prompts = Object.values(PII).map((v) => `please remember ${v} for later`);
      const statuses: number[] = [];
      for (const [i, prompt] of prompts.entries()) {
        const key = CLIENT_KEYS[i % 2];
        for (const stream of [false, true]) {
          statuses.push(await capture('/openai/v1/chat/completions', key, { model: 'gpt-4o-mini', stream, messages: [{ role: 'user', content: prompt }] }));
          statuses.push(await capture('/claude/v1/messages', key, { model: 'claude-sonnet-4-5', max_tokens: 64, stream, messages: [{ role: 'user', content: prompt }] }, { 'anthropic-version': '2023-06-01' }));
        }
        statuses.push(await capture('/openai/v1/embeddings', key, { model: 'text-embedding-3-small', input: prompt }));
      }
      // refusals and failures: a wrong key, a provider error, bad input carrying PII
      statuses.push(await capture('/openai/v1/chat/completions', WRONG_KEY, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompts[0] }] }));
      mock.setFault({ status: 500 }, 2);
      statuses.push(await capture('/openai/v1/chat/completions', CLIENT_KEYS[0], { model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompts[1] }] }));
      statuses.push(await capture('/openai/v1/chat/completions', CLIENT_KEYS[0], { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: prompts[2] }] }));
      statuses.push(await capture('/openai/v1/chat/completions', CLIENT_KEYS[0], { model: 42, messages: [{ role: 'user', content: prompts[3] }] }));
      statuses.push(await capture('/openai/v1/chat/completions', CLIENT_KEYS[0], { model: 'gpt-4o-mini', messages: prompts[4] }));

      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(20);
      expect(statuses).toContain(401);
      expect(statuses.some((s) => s >= 500)).toBe(true);
      // the provider never saw a PII original either
      expect(JSON.stringify(mock.requests.map((r) => r.body))).not.toMatch(new RegExp(Object.values(PII).map(escape).join('|')));

      const metrics = await request(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.body.text());
      await new Promise((r) => setTimeout(r, 200));
      written.push(metrics, readFileSync(usageFile, 'utf8'), ...kong.pluginServer!.lines);
      const everything = written.join('\n');
      expect(everything.length).toBeGreaterThan(10_000);
      const keys = [UPSTREAM_KEY, WRONG_KEY, ...CLIENT_KEYS];
      const needles = [...keys, ...Object.values(PII), PII.card.replaceAll(' ', ''), PII.phone.replace(/\D/g, '')];
      expect(keys.filter((k) => ownAnswers.join('\n').includes(k))).toEqual([]);
      if (process.env.DEBUG_LEAK) for (const n of needles) for (const part of written) if (part.includes(n)) process.stderr.write(`LEAK ${n}: ${part.slice(Math.max(0, part.indexOf(n) - 300), part.indexOf(n) + 100)}\n`);
      expect(needles.filter((n) => everything.includes(n))).toEqual([]);
    } finally {
      await kong.stop();
      await mock.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
