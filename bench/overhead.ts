/**
 * Gateway overhead, measured in one run against baselines in the same run (issue "Benchmarks"), for these paths:
 *   direct    — the OpenAI mock called directly;
 *   baseline  — through the Kong emulator with key-auth and no plugin of ours (upstream = the mock);
 *   bare relay — the baseline with a bare Node relay (bench/support/bare-relay.ts) between the emulator and the mock:
 *               the floor of any relay in Node, with no plugin work;
 *   llm-proxy — llm-proxy alone (plugin server + relay); each other plugin with llm-proxy; all five.
 * Traffic: non-streaming cache miss (a unique prompt per request), streaming, and cache hit (paths with the cache,
 * exact mode, one repeated prompt). Figures: latency p50/p99 at concurrency 1 (autocannon), throughput at p99 ≤ the
 * bound over concurrency steps, plugin-server CPU per request (its own cpuUsage via GetStatus), RPCs per request
 * (counted by the emulator), and for streaming time to first token and inter-chunk gaps (plain undici client, mock
 * with a fixed chunk delay). Writes bench/results/overhead.json; bench/overhead-summary.ts turns it into tables and a chart.
 *
 * Usage: node dist/bench/overhead.js [--quick] [--seconds 5] [--out bench/results]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OpenAiMock } from '../spec/support/mock-providers/openai-mock';
import { CACHE_PLUGIN, CLIENT_HEADERS, perRequest, savedQueryCommand, SCENARIOS, startGateway, type Gateway, type QueryCommand, type Scenario } from './support/gateway';
import { chatBody, runLoad, sendOnce, throughputAtBound, warmUp, type LoadTarget } from './support/load';
import { BARE_RELAY, type OverheadReport, type PathFigures, type RequestFigures, type StreamingFigures, type Unavailable } from './support/overhead-types';
import { resultsDir } from './support/results';
import { cpuTimes, stealPercent } from './support/cpu-steal';
import { roundTripFloor } from './support/round-trip-floor';
import { round } from './support/stats';
import { measureStreaming } from './support/streaming';

const P99_BOUND_MS = 50;
const CHUNK_DELAY_MS = 5;

interface Settings {
  seconds: number;
  concurrencies: number[];
  streamRequests: number;
  scenarios: Scenario[];
}

/** A quick run is a smoke check: the baseline, llm-proxy and all five only, short runs, two concurrency steps. */
const QUICK_SCENARIOS = ['baseline', BARE_RELAY, 'llm-proxy', 'all five'];

function settings(quick: boolean, seconds: string | undefined): Settings {
  return quick
    ? { seconds: Number(seconds ?? 1), concurrencies: [8, 32], streamRequests: 10, scenarios: SCENARIOS.filter((s) => QUICK_SCENARIOS.includes(s.name)) }
    : { seconds: Number(seconds ?? 5), concurrencies: [8, 16, 24, 32], streamRequests: 100, scenarios: SCENARIOS };
}

type Counters = Gateway['counters'];

/** Concurrency-1 latency with the plugin work around it, then throughput at the p99 bound. */
async function requestFigures(target: LoadTarget, s: Settings, counters: Counters): Promise<Omit<RequestFigures, 'added_vs_baseline' | 'added_vs_direct'>> {
  const before = await counters();
  const c1 = await runLoad(target, { connections: 1, seconds: s.seconds });
  const after = await counters();
  const throughput = await throughputAtBound(target, { concurrencies: s.concurrencies, seconds: s.seconds, p99BoundMs: P99_BOUND_MS });
  return { c1, ...perRequest(before, after), throughput };
}

async function streamingFigures(target: LoadTarget, s: Settings, counters: Counters): Promise<Omit<StreamingFigures, 'ttft_overhead_ms' | 'gap_p99_overhead_ms'>> {
  await measureStreaming(target, 2); // warm-up
  const before = await counters();
  const figures = await measureStreaming(target, s.streamRequests);
  const after = await counters();
  return { ...figures, ...perRequest(before, after) };
}

/** Fills the cache with the repeated prompt and checks that the next identical request is served from it. */
async function primeCache(target: LoadTarget): Promise<string | undefined> {
  const send = async () => String((await sendOnce(target))['x-cache-status'] ?? '');
  await send();
  for (let i = 0; i < 20; i++) {
    if ((await send()) === 'Hit') return undefined;
    await new Promise((r) => setTimeout(r, 100));
  }
  return 'n/a (no cache hit on a repeated prompt: plugin not ready)';
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0];

/** One traffic kind's figures, or why they are missing: a failure is reported in its row and the run goes on. */
async function attempt<T>(what: string, measure: () => Promise<T>): Promise<T | Unavailable> {
  try {
    return await measure();
  } catch (err) {
    console.error(`${what} failed: ${firstLine(err)}`);
    return { unavailable: `failed: ${firstLine(err)}` };
  }
}

async function measurePath(scenario: Scenario, mockUrl: string, dir: string, s: Settings, query: QueryCommand): Promise<PathFigures> {
  const hasCache = scenario.plugins.includes(CACHE_PLUGIN);
  let gateway: Gateway;
  try {
    gateway = await startGateway(scenario, mockUrl, dir, query);
  } catch (err) {
    const reason: Unavailable = { unavailable: `n/a (${hasCache ? 'plugin not ready: ' : ''}${firstLine(err)})` };
    return { plugins: scenario.plugins, miss: reason, streaming: reason, ...(hasCache ? { cache_hit: reason } : {}) };
  }
  try {
    const counters = () => gateway.counters();
    const miss = gateway.target(chatBody({ unique: true }));
    const stream = gateway.target(chatBody({ unique: true, stream: true }));
    const path: PathFigures = {
      plugins: scenario.plugins,
      miss: await attempt(`${scenario.name} miss`, async () => {
        await warmUp(miss);
        return { ...(await requestFigures(miss, s, counters)), added_vs_baseline: null, added_vs_direct: null };
      }),
      streaming: await attempt(`${scenario.name} streaming`, async () => ({
        ...(await streamingFigures(stream, s, counters)),
        ttft_overhead_ms: null,
        gap_p99_overhead_ms: null,
      })),
    };
    if (hasCache) {
      const hit = gateway.target(chatBody({ unique: false }));
      path.cache_hit = await attempt(`${scenario.name} cache hit`, async () => {
        const notHitting = await primeCache(hit);
        if (notHitting) return { unavailable: notHitting };
        return { ...(await requestFigures(hit, s, counters)), added_vs_baseline: null, added_vs_direct: null };
      });
    }
    return path;
  } finally {
    await gateway.stop();
  }
}

/** Fills in every path's overhead over the baseline and the direct call, all from this run. */
function addOverheads(report: OverheadReport): void {
  const baseline = report.paths.baseline?.miss;
  const delta = (f: RequestFigures, base: RequestFigures) => ({ p50_ms: round(f.c1.p50_ms - base.c1.p50_ms), p99_ms: round(f.c1.p99_ms - base.c1.p99_ms) });
  for (const path of Object.values(report.paths)) {
    for (const f of [path.miss, path.cache_hit]) {
      if (!f || 'unavailable' in f) continue;
      f.added_vs_direct = delta(f, report.direct.miss);
      if (baseline && !('unavailable' in baseline)) f.added_vs_baseline = delta(f, baseline);
    }
    if (!('unavailable' in path.streaming)) {
      path.streaming.ttft_overhead_ms = round(path.streaming.ttft_p50_ms - report.direct.streaming.ttft_p50_ms);
      path.streaming.gap_p99_overhead_ms = round(path.streaming.gap_p99_ms - report.direct.streaming.gap_p99_ms);
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, seconds: { type: 'string' }, out: { type: 'string' } } });
  const quick = values.quick === true;
  const s = settings(quick, values.seconds);
  const out = values.out ?? resultsDir();
  const dir = mkdtempSync(join(tmpdir(), 'llm-bench-'));
  const mock = new OpenAiMock({ apiKey: 'bench-key', chunkDelayMs: CHUNK_DELAY_MS });
  const { url: mockUrl } = await mock.start();
  try {
    const runStart = cpuTimes();
    const floor = await roundTripFloor(dir);
    const query = await savedQueryCommand(dir);
    const noPlugins = async () => undefined;
    const direct = (body: string): LoadTarget => ({ url: `${mockUrl}/v1/chat/completions`, headers: { authorization: CLIENT_HEADERS.authorization }, body });
    await warmUp(direct(chatBody({ unique: true })));
    const report: OverheadReport = {
      date: new Date().toISOString(),
      machine: `${process.platform} ${process.arch}, node ${process.version}`,
      quick,
      seconds_per_run: s.seconds,
      concurrencies: s.concurrencies,
      p99_bound_ms: P99_BOUND_MS,
      stream: { requests_per_path: s.streamRequests, chunk_delay_ms: CHUNK_DELAY_MS },
      round_trip_floor: floor,
      direct: {
        miss: { ...(await requestFigures(direct(chatBody({ unique: true })), s, noPlugins)), added_vs_baseline: null, added_vs_direct: null },
        streaming: { ...(await streamingFigures(direct(chatBody({ unique: true, stream: true })), s, noPlugins)), ttft_overhead_ms: null, gap_p99_overhead_ms: null },
      },
      paths: {},
    };
    for (const scenario of s.scenarios) {
      const started = Date.now();
      const cpuBefore = cpuTimes();
      report.paths[scenario.name] = await measurePath(scenario, mockUrl, dir, s, query);
      report.paths[scenario.name].cpu_steal_percent = stealPercent(cpuBefore, cpuTimes());
      console.error(`== overhead: ${scenario.name} (${((Date.now() - started) / 1000).toFixed(1)} s, steal ${report.paths[scenario.name].cpu_steal_percent ?? '?'} %)`);
    }
    report.cpu_steal_percent = stealPercent(runStart, cpuTimes());
    addOverheads(report);
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'overhead.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.error(`wrote ${join(out, 'overhead.json')}`);
  } finally {
    await mock.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
