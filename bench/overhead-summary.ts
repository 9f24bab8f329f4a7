/**
 * Aggregates every result of `scripts/bench` (bench/results/*.json) into bench/results/summary.json, the Markdown
 * tables the README embeds (summary.md: overhead per plugin and traffic kind, memory, the issue's targets met/missed)
 * and the latency chart (overhead.svg).
 *
 * Usage: node dist/bench/overhead-summary.js [--out bench/results]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { latencyChart, type LatencyBar } from './support/chart';
import type { MemoryFigures } from './support/memory-types';
import { BARE_RELAY, isUnavailable, type OverheadReport, type PathFigures, type RequestFigures, type StreamingFigures, type Unavailable } from './support/overhead-types';
import { readResults, resultsDir } from './support/results';
import { checkTargets, RSS_SLOPE_BOUND_MB_PER_10K, type TargetCheck } from './support/targets';

const dash = '–';
const show = (v: number | null | undefined, unit = '') => (v === null || v === undefined ? dash : `${v}${unit}`);
const pair = (d: { p50_ms: number; p99_ms: number } | null) => (d ? `${d.p50_ms} / ${d.p99_ms}` : dash);

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function requestRow(name: string, f: RequestFigures | Unavailable | undefined): string[] {
  if (isUnavailable(f)) return [name, f?.unavailable ?? dash, '', '', '', '', ''];
  const t = f.throughput;
  return [
    name,
    `${f.c1.p50_ms} / ${f.c1.p99_ms}`,
    pair(f.added_vs_baseline),
    pair(f.added_vs_direct),
    t.connections === null ? `none (best p99 ${Math.min(...t.steps.map((s) => s.p99_ms))} ms)` : `${t.rps} (c=${t.connections}, p99 ${t.p99_ms} ms)`,
    show(f.server_cpu_us_per_request),
    show(f.rpcs_per_request),
  ];
}

const REQUEST_HEADER = [
  'path',
  'p50 / p99 ms (c=1)',
  'added vs no plugins p50 / p99 ms',
  'added vs direct p50 / p99 ms',
  'req/s at p99 ≤ bound',
  'plugin-server CPU µs/req',
  'RPCs/req',
];

function streamingRow(name: string, f: StreamingFigures | Unavailable): string[] {
  if (isUnavailable(f)) return [name, f?.unavailable ?? dash, '', '', '', '', ''];
  return [
    name,
    `${f.ttft_p50_ms} / ${f.ttft_p99_ms}`,
    show(f.ttft_overhead_ms),
    `${f.gap_p50_ms} / ${f.gap_p99_ms}`,
    show(f.gap_p99_overhead_ms),
    show(f.server_cpu_us_per_request),
    show(f.rpcs_per_request),
  ];
}

function overheadTables(o: OverheadReport): string {
  const paths = Object.entries(o.paths);
  const hits = paths.filter(([, p]) => p.cache_hit !== undefined);
  const settings =
    `${o.quick ? '**Quick smoke run** (indicative only), ' : ''}${o.seconds_per_run} s per figure, concurrency steps ${o.concurrencies.join('/')}, ` +
    `p99 bound ${o.p99_bound_ms} ms; ${o.machine}; ${o.date}. Round trip to another process on this machine: unix socket ` +
    `${o.round_trip_floor.unix_rtt_us} µs, loopback TCP ${o.round_trip_floor.tcp_rtt_us} µs; an echoing process spends ` +
    `${o.round_trip_floor.unix_echo_cpu_us ?? dash} µs of CPU per unix-socket round trip (the floor of one RPC). The \`${BARE_RELAY}\` path ` +
    'is the floor of any relay written in Node: a plain Node HTTP server forwarding with undici to the mock, with no plugin work. ' +
    `CPU steal (time the hypervisor gave other guests) over the run: ${o.cpu_steal_percent ?? dash} %; per path: ` +
    `${paths.map(([n, p]) => `${n} ${p.cpu_steal_percent ?? dash} %`).join(', ')}.`;
  return [
    settings,
    '',
    '**Non-streaming, cache miss** (a unique prompt per request; every plugin runs with llm-proxy, which is the relay):',
    '',
    table(REQUEST_HEADER, [requestRow('direct (mock)', o.direct.miss), ...paths.map(([n, p]) => requestRow(n, p.miss))]),
    '',
    `**Streaming** (plain undici client, ${o.stream.requests_per_path} requests per path one at a time, mock chunk delay ${o.stream.chunk_delay_ms} ms; overheads vs direct):`,
    '',
    table(
      ['path', 'TTFT p50 / p99 ms', 'TTFT overhead ms', 'inter-chunk gap p50 / p99 ms', 'gap p99 overhead ms', 'plugin-server CPU µs/req', 'RPCs/req'],
      [streamingRow('direct (mock)', o.direct.streaming), ...paths.map(([n, p]) => streamingRow(n, p.streaming))],
    ),
    '',
    'The baseline is buffered as nginx buffers an upstream that does not answer `X-Accel-Buffering: no` (the mock does not; the relay does).',
    '',
    '**Cache hit** (llm-semantic-cache in exact mode, one repeated prompt; only paths with the cache):',
    '',
    table(REQUEST_HEADER, hits.map(([n, p]) => requestRow(n, p.cache_hit))),
  ].join('\n');
}

function memoryLine(m: MemoryFigures): string {
  return (
    `**Memory** (all five plugins, non-streaming, concurrency ${m.connections}, ${m.requests.toLocaleString('en')} requests at ${m.rps} req/s` +
    `${m.quick ? ', quick run' : ''}): plugin-server RSS ${m.steady_state_rss_mb} MB at steady state, ${m.final_rss_mb} MB after the run ` +
    `(max ${m.max_rss_mb} MB); live heap after a full GC ${m.steady_state_heap_after_gc_mb ?? dash} → ${m.final_heap_after_gc_mb ?? dash} MB. ` +
    `Slopes over the second half, MB per 10k requests (no growth trend: ≤ ${RSS_SLOPE_BOUND_MB_PER_10K}): RSS ${m.second_half_slope_mb_per_10k}, ` +
    `live heap ${m.second_half_heap_after_gc_slope_mb_per_10k ?? dash}. The cache (10,000 entries by default) fills during the first 10k ` +
    'requests; each of the 40 samples forces a full GC (the server runs with --expose-gc) before reading the live heap.'
  );
}

function targetsTable(checks: TargetCheck[]): string {
  const verdict = (c: TargetCheck) => (c.met === null ? 'not measured' : c.met ? 'met' : '**missed**');
  return table(
    ['target (issue "Benchmarks")', 'bound', 'measured', 'baseline (same run)', 'verdict'],
    checks.map((c) => [c.target, c.bound, show(c.value, ` ${c.unit}`), c.baseline, verdict(c)]),
  );
}

function chartBars(o: OverheadReport): LatencyBar[] {
  const bar = (label: string, f: RequestFigures | Unavailable | undefined): LatencyBar[] =>
    isUnavailable(f) ? [] : [{ label, p50_ms: f.c1.p50_ms, p99_ms: f.c1.p99_ms }];
  const paths: [string, PathFigures][] = Object.entries(o.paths);
  return [
    ...bar('direct (mock)', o.direct.miss),
    ...paths.flatMap(([n, p]) => bar(n, p.miss)),
    ...paths.flatMap(([n, p]) => bar(`${n} (cache hit)`, p.cache_hit)),
  ];
}

function semanticHit(results: Record<string, unknown>): { p99_ms?: number; cpu_steal_percent?: number | null } | undefined {
  const cache = results['llm-semantic-cache'] as { through_kong_emulator?: { semantic_hit_builtin_embedder?: { p99_ms?: number; cpu_steal_percent?: number | null } } } | undefined;
  return cache?.through_kong_emulator?.semantic_hit_builtin_embedder;
}

const README_START = '<!-- bench-summary:start (written by scripts/bench from bench/results/summary.md) -->';
const README_END = '<!-- bench-summary:end -->';

/** A full run copies the summary into the README between its markers (a quick run never does). */
function embedInReadme(markdown: string): void {
  const readme = join(resultsDir(), '..', '..', 'README.md');
  const text = readFileSync(readme, 'utf8');
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END);
  if (start < 0 || end < start) return;
  writeFileSync(readme, `${text.slice(0, start + README_START.length)}\n${markdown}\n${text.slice(end)}`);
}

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  const out = values.out ?? resultsDir();
  const results = readResults(out);
  // an overhead.json from before the per-plugin paths has no `paths`: it is left out rather than misread
  const overhead = (results.overhead as Partial<OverheadReport> | undefined)?.paths ? (results.overhead as OverheadReport) : undefined;
  const memory = results.memory as MemoryFigures | undefined;
  const targets = checkTargets(overhead, memory, semanticHit(results));
  const components = Object.keys(results).filter((n) => n !== 'overhead' && n !== 'memory');
  const summary = { date: new Date().toISOString(), targets, overhead, memory, components: Object.fromEntries(components.map((n) => [n, results[n]])) };
  writeFileSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const md = [
    overhead ? overheadTables(overhead) : '_No overhead run (bench/overhead.ts) in bench/results._',
    memory ? memoryLine(memory) : '_No memory run (bench/memory.ts) in bench/results._',
    '**Targets:**',
    targetsTable(targets),
    components.length > 0 ? `Component micro-benchmarks: ${components.map((n) => `\`bench/results/${n}.json\``).join(', ')}.` : '',
  ].filter(Boolean);
  writeFileSync(join(out, 'summary.md'), `${md.join('\n\n')}\n`);
  if (overhead && !overhead.quick && out === resultsDir()) embedInReadme(md.join('\n\n'));
  if (overhead) writeFileSync(join(out, 'overhead.svg'), latencyChart('Latency at concurrency 1, non-streaming (ms)', chartBars(overhead)));
  process.stdout.write(`${md.join('\n\n')}\n`);
}

main();
