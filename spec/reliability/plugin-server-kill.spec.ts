import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { parseDeclarative } from '../../plugins/runtime/config/declarative';
import { KongEmulator } from '../support/kong-emulator/emulator';
import { OpenAiMock } from '../support/mock-providers/openai-mock';
import { startRedisServer, type RedisServer } from '../support/redis-server';

/**
 * The plugin-server process is SIGKILLed while requests are flowing through the Kong emulator, which respawns it
 * as Kong's pluginserver timer does. Requests in flight fail cleanly (an answer, never a hang), later ones succeed
 * on a new process with re-created instances, and the token counters in Redis stay consistent with what was
 * settled (a killed request can at most leave its own reservation behind, until the reservation expires).
 */
const UPSTREAM_KEY = 'sk-kill-upstream';
const FIXTURE = join(__dirname, '..', 'llm-token-limit', 'fixtures', 'kong.yaml');
const LIMIT = 1_000_000;
const WORKERS = 4;
const LOAD_MS = 3_000;
const PER_REQUEST_TIMEOUT_MS = 10_000;

describe('plugin server killed under load', () => {
  let redis: RedisServer;
  let mock: OpenAiMock;

  beforeAll(async () => {
    redis = await startRedisServer();
    mock = new OpenAiMock({ apiKey: UPSTREAM_KEY, reply: 'one two three four', chunkDelayMs: 5 });
    await mock.start();
  });
  afterAll(async () => {
    await mock.stop();
    await redis.stop();
  });

  it('in-flight requests fail cleanly, later ones succeed, counters stay consistent', async () => {
    const policy = `policy: redis\n              redis: { host: 127.0.0.1, port: ${redis.port}, key_prefix: "kill:" }`;
    const yaml = readFileSync(FIXTURE, 'utf8')
      .replace('__POLICY__', policy)
      .replace('limit: 200', `limit: ${LIMIT}`)
      .replace('limit: 12', `limit: ${LIMIT}`);
    const env = { LLM_OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: UPSTREAM_KEY };
    const kong = await KongEmulator.start({ config: parseDeclarative(yaml, FIXTURE), env, pluginServer: { env } });
    try {
      const outcomes: { status: number; at: number; ms: number; remaining?: number; tokens: number }[] = [];
      const send = async (stream: boolean) => {
        const started = Date.now();
        try {
          const res = await request(`${kong.url}/openai/v1/chat/completions`, {
            method: 'POST',
            headers: { apikey: 'team-a-key', 'content-type': 'application/json' },
            body: JSON.stringify({
              model: 'gpt-4o-mini',
              stream,
              ...(stream ? { stream_options: { include_usage: true } } : {}),
              messages: [{ role: 'user', content: 'hello there' }],
              max_tokens: 8,
            }),
            signal: AbortSignal.timeout(PER_REQUEST_TIMEOUT_MS),
          });
          const text = await res.body.text().catch(() => undefined);
          if (text === undefined) throw new Error('answer cut'); // a 200 whose stream the kill broke off

          const remaining = Number(res.headers['x-ai-ratelimit-remaining-minute-team-minute']);
          outcomes.push({
            status: res.statusCode,
            at: started,
            ms: Date.now() - started,
            remaining: Number.isFinite(remaining) ? remaining : undefined,
            tokens: res.statusCode === 200 ? totalTokens(text, stream) : 0,
          });
        } catch {
          outcomes.push({ status: 0, at: started, ms: Date.now() - started, tokens: 0 }); // connection cut: still an answer, not a hang
        }
      };
      const firstPid = kong.pluginServer!.pid;
      const end = Date.now() + LOAD_MS;
      let killedAt = 0;
      const killer = (async () => {
        await new Promise((r) => setTimeout(r, LOAD_MS / 3));
        killedAt = Date.now();
        kong.pluginServer!.kill('SIGKILL');
        await kong.pluginServer!.waitForRespawn(firstPid);
      })();
      await Promise.all(
        Array.from({ length: WORKERS }, async (_, w) => {
          let i = 0;
          while (Date.now() < end) await send((w + i++) % 2 === 0);
        }),
      );
      await killer;
      // after the respawn every request succeeds again, on a new process
      const after = await Promise.all(Array.from({ length: 6 }, (_, i) => send(i % 2 === 0).then(() => outcomes.at(-1)!)));
      expect(after.map((o) => o.status)).toEqual(Array(6).fill(200));
      expect(kong.pluginServer!.pid).not.toBe(firstPid);

      expect(outcomes.every((o) => o.ms < PER_REQUEST_TIMEOUT_MS)).toBe(true);
      const failed = outcomes.filter((o) => o.status !== 200);
      expect(failed.length).toBeGreaterThan(0); // the kill did hit traffic
      for (const o of failed) expect([0, 500, 502, 503]).toContain(o.status);
      expect(outcomes.filter((o) => o.at > killedAt + 2_000).every((o) => o.status === 200)).toBe(true);
      const recoveredAt = Math.min(...outcomes.filter((o) => o.at > killedAt && o.status === 200).map((o) => o.at + o.ms));
      if (process.env.SOAK_REPORT) {
        process.stderr.write(`kill: ${outcomes.length} requests, ${failed.length} failed cleanly during the kill, first success ${recoveredAt - killedAt} ms after it\n`);
      }

      // counters: what Redis says is used = the tokens of the answers clients got, plus at most the reservations of
      // the requests the kill cut (each reserves its prompt + max_tokens). The remaining figure is read before the
      // last request settles, so it is compared with the tokens of the requests before it.
      const lastOk = outcomes.filter((o) => o.status === 200).sort((a, b) => a.at - b.at);
      const reading = lastOk.at(-1)!;
      const settledBefore = lastOk.filter((o) => o.at < reading.at).reduce((sum, o) => sum + o.tokens, 0);
      const used = LIMIT - reading.remaining!;
      const perRequestReservation = 40;
      expect(lastOk.every((o) => o.tokens > 0)).toBe(true);
      expect(used).toBeGreaterThanOrEqual(settledBefore);
      expect(used - settledBefore).toBeLessThanOrEqual(failed.length * perRequestReservation);
    } finally {
      await kong.stop();
    }
  }, 60_000);
});

/** The total_tokens of a chat answer, JSON or an SSE stream with include_usage. */
function totalTokens(text: string, stream: boolean): number {
  if (!stream) return JSON.parse(text).usage.total_tokens;
  const usage = text
    .split('\n')
    .filter((line) => line.startsWith('data: {'))
    .map((line) => JSON.parse(line.slice(6)).usage)
    .find((u) => u);
  return usage?.total_tokens ?? 0;
}
