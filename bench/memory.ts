/**
 * Plugin-server memory under load (issue "Benchmarks"): all five plugins, non-streaming cache-miss traffic (a unique
 * prompt per request) at concurrency 16 through the Kong emulator, 100,000 requests (autocannon with a request
 * count). The server's RSS (GetStatus) is read at steady state (after a warm-up) and every `total / 40` requests;
 * the least-squares slope over the second half, in MB per 10,000 requests, shows whether it still grows.
 * The cache is on (exact mode, 10,000 entries by default), so RSS rises until it is full and must then stay flat.
 * The server runs with --expose-gc: each sample also takes the live heap and the RSS after a full collection, whose
 * slopes tell a leak apart from V8 letting its heap grow under load.
 *
 * Usage: node dist/bench/memory.js [--quick] [--requests 100000] [--out bench/results]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OpenAiMock } from '../spec/support/mock-providers/openai-mock';
import { SCENARIOS, startGateway } from './support/gateway';
import { chatBody, runLoad, warmUp } from './support/load';
import { resultsDir } from './support/results';
import type { MemoryFigures, MemorySample } from './support/memory-types';
import { linearSlope, round } from './support/stats';

const CONNECTIONS = 16;
const SAMPLES = 40;
const MB = 1024 * 1024;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, requests: { type: 'string' }, out: { type: 'string' } } });
  const quick = values.quick === true;
  const total = Number(values.requests ?? (quick ? 10_000 : 100_000));
  const out = values.out ?? resultsDir();
  const dir = mkdtempSync(join(tmpdir(), 'llm-bench-memory-'));
  const mock = new OpenAiMock({ apiKey: 'bench-key' });
  const { url: mockUrl } = await mock.start();
  const allFive = SCENARIOS.find((s) => s.name === 'all five')!;
  // --expose-gc: each sample also reads the live heap after a full collection (GetStatus {Gc: true})
  const gateway = await startGateway(allFive, mockUrl, dir, undefined, ['--expose-gc']);
  try {
    const target = gateway.target(chatBody({ unique: true }));
    await warmUp(target);
    await runLoad(target, { connections: CONNECTIONS, amount: quick ? 1_000 : 2_000 }); // to steady state
    const sample = async (requests: number): Promise<MemorySample> => {
      const rss = ((await gateway.rssBytes()) ?? 0) / MB; // as the load left it
      const afterGc = await gateway.heapAfterGc();
      return { requests, rss_mb: round(rss, 1), rss_after_gc_mb: round((afterGc?.rssBytes ?? 0) / MB, 1), heap_after_gc_mb: round((afterGc?.heapBytes ?? 0) / MB, 1) };
    };
    const samples: MemorySample[] = [await sample(0)];
    const every = Math.max(1, Math.floor(total / SAMPLES));
    let reading: Promise<void> | undefined;
    let nextSample = every;
    const started = Date.now();
    await runLoad(target, {
      connections: CONNECTIONS,
      amount: total,
      onResponse: (count) => {
        if (count < nextSample || reading) return;
        nextSample += every;
        reading = sample(count).then((s) => {
          samples.push(s);
          reading = undefined;
        });
      },
    });
    await reading;
    const seconds = (Date.now() - started) / 1000;
    const final = await sample(total);
    samples.push(final);
    const slope = (y: (s: MemorySample) => number) =>
      round(linearSlope(samples.filter((p) => p.requests >= total / 2).map((p) => ({ x: p.requests / 10_000, y: y(p) }))));
    const report: MemoryFigures = {
      date: new Date().toISOString(),
      quick,
      requests: total,
      connections: CONNECTIONS,
      rps: Math.round(total / seconds),
      steady_state_rss_mb: samples[0].rss_mb,
      final_rss_mb: final.rss_mb,
      max_rss_mb: Math.max(...samples.map((p) => p.rss_mb)),
      steady_state_heap_after_gc_mb: samples[0].heap_after_gc_mb,
      final_heap_after_gc_mb: final.heap_after_gc_mb,
      second_half_slope_mb_per_10k: slope((p) => p.rss_mb),
      second_half_rss_after_gc_slope_mb_per_10k: slope((p) => p.rss_after_gc_mb),
      second_half_heap_after_gc_slope_mb_per_10k: slope((p) => p.heap_after_gc_mb),
      samples,
    };
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'memory.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.error(
      `memory: RSS steady ${report.steady_state_rss_mb} MB, after ${total} requests ${report.final_rss_mb} MB, ` +
        `second-half slope ${report.second_half_slope_mb_per_10k} MB / 10k requests; after a full GC: RSS slope ` +
        `${report.second_half_rss_after_gc_slope_mb_per_10k}, live heap ${report.steady_state_heap_after_gc_mb} → ` +
        `${report.final_heap_after_gc_mb} MB, slope ${report.second_half_heap_after_gc_slope_mb_per_10k} (${report.rps} req/s)`,
    );
  } finally {
    await gateway.stop();
    await mock.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
