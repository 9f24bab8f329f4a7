/**
 * llm-semantic-cache benchmark, written to bench/results/llm-semantic-cache.json:
 *   - through the Kong emulator and the real plugin server (key-auth, llm-proxy, llm-semantic-cache), client-side
 *     latency p50/p99 of an exact hit, and of a semantic hit with the built-in offline embedder (every request a new
 *     exact key whose user text embeds like a cached one: the embedding and the vector search run each time);
 *   - the Redis index on plain Redis (LSH buckets, default 8 tables × 10 bits, 64 candidates, 512-d vectors): lookup
 *     time and per-lookup commands and candidates with 1k, 10k and 100k answers in one partition.
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/llm-semantic-cache.js [--requests 300] (BENCH_QUICK=1: a smoke run)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpuTimes, stealPercent } from './support/cpu-steal';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { closeRedisIndexClients, RedisCacheIndex, redisIndexClient, whenConnected } from '../plugins/llm-semantic-cache/redis-index';
import type { LookupCost } from '../plugins/llm-semantic-cache/vector-index';
import { KongEmulator } from '../spec/support/kong-emulator/emulator';
import { OpenAiMock } from '../spec/support/mock-providers/openai-mock';
import { startRedisServer } from '../spec/support/redis-server';
import { fillIndex, randomUnitVector, seededRandom } from '../spec/support/semantic-cache-fill';
import { resultsDir } from './support/results';
import { percentile, round } from './support/stats';

const QUESTION = 'How do I reset my password after the account was locked on the customer portal?';

function kongYaml(mockUrl: string): string {
  const proxy = `          - name: llm-proxy\n            config: { provider: openai, base_url: "${mockUrl}/v1", auth: { api_key: bench-key } }`;
  const route = (name: string, mode: string) => `      - name: ${name}
        paths: [/${name}]
        strip_path: true
        plugins:
${proxy}
          - name: llm-semantic-cache
            config: { mode: ${mode}, ttl_s: 3600 }`;
  return `_format_version: "3.0"
services:
  - name: llm
    url: http://127.0.0.1:65535
    routes:
${route('exact', 'exact')}
${route('semantic', 'semantic')}
    plugins:
      - name: key-auth
        config: { key_names: [apikey], hide_credentials: true }
consumers:
  - username: bench
    keyauth_credentials: [{ key: bench-consumer-key }]
`;
}

/** The question with extra spaces after word `i`: another exact key, the same embedded text (whitespace collapses). */
function variant(n: number): string {
  const words = QUESTION.split(' ');
  const at = n % (words.length - 1);
  const spaces = 2 + Math.floor(n / (words.length - 1));
  return [...words.slice(0, at + 1), ...words.slice(at + 1).map((w, i) => (i === 0 ? ' '.repeat(spaces - 1) + w : w))].join(' ');
}

async function timedPost(url: string, content: string): Promise<{ ms: number; status: string }> {
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], max_tokens: 64 });
  const start = performance.now();
  const res = await request(url, { method: 'POST', headers: { apikey: 'bench-consumer-key', 'content-type': 'application/json' }, body });
  await res.body.text();
  const ms = performance.now() - start;
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  return { ms, status: String(res.headers['x-cache-status']) };
}

async function hitLatency(url: string, requests: number, contentOf: (i: number) => string, expectedKind: string) {
  const first = await timedPost(url, QUESTION); // the miss that fills the cache (and loads the embedder)
  if (first.status !== 'Miss') throw new Error(`priming request: ${first.status}`);
  for (let i = 0; i < 20; i++) await timedPost(url, contentOf(requests + i)); // warm-up
  const times: number[] = [];
  for (let i = 0; i < requests; i++) {
    const r = await timedPost(url, contentOf(i));
    if (r.status !== 'Hit') throw new Error(`${expectedKind} request ${i}: ${r.status}`);
    times.push(r.ms);
  }
  return { requests, p50_ms: round(percentile(times, 50), 3), p99_ms: round(percentile(times, 99), 3) };
}

/** BENCH_QUICK (scripts/bench --quick): fewer requests and no 100k fill. */
const QUICK = process.env.BENCH_QUICK === '1';

async function redisScale() {
  const redis = await startRedisServer();
  const client = redisIndexClient({ type: 'redis', url: redis.url, keyPrefix: 'bench:', commandTimeoutMs: 30_000 });
  try {
    await whenConnected(client);
    const index = new RedisCacheIndex(client, 'bench:', { lshTables: 8, lshBits: 10, maxCandidates: 64, vectorSearch: 'lsh' });
    const dims = 512;
    const random = seededRandom(3);
    const sizes = QUICK ? [1_000, 10_000] : [1_000, 10_000, 100_000];
    const out: Record<string, unknown>[] = [];
    let filled = 0;
    for (const size of sizes) {
      await fillIndex(index, 'p', size - filled, dims, random);
      filled = size;
      const times: number[] = [];
      const costs: LookupCost[] = [];
      for (let i = 0; i < 300; i++) {
        const cost: LookupCost = { commands: 0, candidates: 0 };
        const q = randomUnitVector(dims, random);
        const start = performance.now();
        await index.search('p', q, 0.9, 3, cost);
        times.push(performance.now() - start);
        costs.push(cost);
      }
      out.push({
        entries: size,
        lookup_p50_ms: round(percentile(times, 50), 3),
        lookup_p99_ms: round(percentile(times, 99), 3),
        commands_per_lookup: round(costs.reduce((s, c) => s + c.commands, 0) / costs.length, 2),
        candidates_per_lookup: round(costs.reduce((s, c) => s + c.candidates, 0) / costs.length, 1),
        max_candidates_per_lookup: Math.max(...costs.map((c) => c.candidates)),
      });
      process.stdout.write(`redis ${size}: ${JSON.stringify(out.at(-1))}\n`);
    }
    return out;
  } finally {
    await closeRedisIndexClients();
    await redis.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { requests: { type: 'string', default: '300' } } });
  const requests = QUICK ? 50 : Number(values.requests);
  const dir = mkdtempSync(join(tmpdir(), 'bench-cache-'));
  const mock = new OpenAiMock({ apiKey: 'bench-key', reply: 'Open the sign-in page and choose "Forgot password".' });
  await mock.start();
  const file = join(dir, 'kong.yaml');
  writeFileSync(file, kongYaml(mock.url));
  const kong = await KongEmulator.start({ config: file, workers: 2 });
  let gateway: Record<string, unknown>;
  try {
    const exact = await hitLatency(`${kong.url}/exact/v1/chat/completions`, requests, () => QUESTION, 'exact');
    process.stdout.write(`exact hit through the emulator: ${JSON.stringify(exact)}\n`);
    const cpuBefore = cpuTimes();
    const semantic = { ...(await hitLatency(`${kong.url}/semantic/v1/chat/completions`, requests, variant, 'semantic')), cpu_steal_percent: 0 as number | null };
    semantic.cpu_steal_percent = stealPercent(cpuBefore, cpuTimes());
    process.stdout.write(`semantic hit (built-in embedder) through the emulator: ${JSON.stringify(semantic)}\n`);
    gateway = { exact_hit: exact, semantic_hit_builtin_embedder: semantic, upstream_calls: mock.requests.length };
  } finally {
    await kong.stop();
    await mock.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const redis = await redisScale();
  const result = { machine: { cpus: (await import('node:os')).cpus().length }, through_kong_emulator: gateway, redis_lsh_index: redis, measured_at: new Date().toISOString() };
  mkdirSync(resultsDir(), { recursive: true });
  writeFileSync(join(resultsDir(), 'llm-semantic-cache.json'), `${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
