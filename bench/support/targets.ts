import type { MemoryFigures } from './memory-types';
import { BARE_RELAY, isUnavailable, type OverheadReport, type RequestFigures } from './overhead-types';
import { round } from './stats';

/** One of the benchmark issue's targets, the figure measured for it, and its baseline from the same run. */
export interface TargetCheck {
  target: string;
  /** `≤ 400 µs` etc. */
  bound: string;
  value: number | null;
  unit: string;
  baseline: string;
  /** null: not measured in this run. */
  met: boolean | null;
}

/** No growth trend: the second half's RSS slope stays under this (noise of the GC and allocator). */
export const RSS_SLOPE_BOUND_MB_PER_10K = 1;

function check(target: string, value: number | null | undefined, limit: { max?: number; min?: number }, unit: string, baseline: string): TargetCheck {
  const bound = limit.max !== undefined ? `≤ ${limit.max} ${unit}` : `≥ ${limit.min} ${unit}`;
  const v = value ?? null;
  const met = v === null ? null : limit.max !== undefined ? v <= limit.max : v >= (limit.min ?? 0);
  return { target, bound, value: v, unit, baseline, met };
}

function requestFigures(value: RequestFigures | { unavailable: string } | undefined): RequestFigures | undefined {
  return isUnavailable(value) ? undefined : value;
}

/** The targets of the benchmark issue (2-core machine, non-streaming cache miss unless stated). */
export function checkTargets(
  overhead: OverheadReport | undefined,
  memory: MemoryFigures | undefined,
  semanticHit: { p99_ms?: number; cpu_steal_percent?: number | null } | undefined,
): TargetCheck[] {
  const all = overhead?.paths['all five'];
  const proxy = overhead?.paths['llm-proxy'];
  const allMiss = requestFigures(all?.miss);
  const proxyMiss = requestFigures(proxy?.miss);
  const allHit = requestFigures(all?.cache_hit);
  const allStream = isUnavailable(all?.streaming) ? undefined : all?.streaming;
  const base = requestFigures(overhead?.paths.baseline?.miss);
  const direct = overhead?.direct;
  const noPlugins = base ? `no plugins: p50 ${base.c1.p50_ms} / p99 ${base.c1.p99_ms} ms` : 'n/a';
  const bare = requestFigures(overhead?.paths[BARE_RELAY]?.miss);
  const rpcCpu = overhead?.round_trip_floor.unix_echo_cpu_us;
  // what any Node relay costs on this machine, plus the echo floor of each RPC the path makes
  const cpuFloor = (f: RequestFigures | undefined) => {
    const relay = bare?.server_cpu_us_per_request;
    if (!f || relay === null || relay === undefined || rpcCpu === undefined || f.rpcs_per_request === null) return 'plugin work only';
    return `floor ${Math.round(relay + f.rpcs_per_request * rpcCpu)} µs: bare Node relay ${relay} + ${f.rpcs_per_request} RPCs × ${rpcCpu} (echo)`;
  };
  const latencyFloor = bare ? `; bare Node relay adds ${round(bare.c1.p50_ms - (base?.c1.p50_ms ?? 0))} / ${round(bare.c1.p99_ms - (base?.c1.p99_ms ?? 0))} ms` : '';
  return [
    check('all five: plugin-server CPU per request (c=1)', allMiss?.server_cpu_us_per_request, { max: 400 }, 'µs', cpuFloor(allMiss)),
    check('all five: RPCs per request (HandleEvent + PDK)', allMiss?.rpcs_per_request, { max: 20 }, 'RPCs', 'plugin work only'),
    check('all five: added p50 at c=1', allMiss?.added_vs_baseline?.p50_ms, { max: 1.5 }, 'ms', noPlugins + latencyFloor),
    check('all five: added p99 at c=1', allMiss?.added_vs_baseline?.p99_ms, { max: 4 }, 'ms', noPlugins + latencyFloor),
    check(
      `all five: req/s at p99 ≤ ${overhead?.p99_bound_ms ?? 50} ms (c=8–32)`,
      allMiss?.throughput.rps,
      { min: 1500 },
      'req/s',
      base ? `no plugins: ${base.throughput.rps} req/s${bare ? `; bare Node relay: ${bare.throughput.rps} req/s` : ''}` : 'n/a',
    ),
    check('llm-proxy alone: plugin-server CPU per request (c=1)', proxyMiss?.server_cpu_us_per_request, { max: 150 }, 'µs', cpuFloor(proxyMiss)),
    check('llm-proxy alone: RPCs per request', proxyMiss?.rpcs_per_request, { max: 6 }, 'RPCs', 'plugin work only'),
    check('llm-proxy alone: added p50 at c=1', proxyMiss?.added_vs_baseline?.p50_ms, { max: 0.6 }, 'ms', noPlugins + latencyFloor),
    check(
      'streaming, all five: time-to-first-token overhead (p50)',
      allStream?.ttft_overhead_ms,
      { max: 2 },
      'ms',
      direct ? `direct: ${direct.streaming.ttft_p50_ms} ms` : 'n/a',
    ),
    check(
      'streaming, all five: inter-chunk gap p99 overhead',
      allStream?.gap_p99_overhead_ms,
      { max: 0.5 },
      'ms',
      direct ? `direct: ${direct.streaming.gap_p99_ms} ms (chunk delay ${overhead?.stream.chunk_delay_ms} ms)` : 'n/a',
    ),
    check('exact cache hit through the emulator, all five: p99 at c=1', allHit?.c1.p99_ms, { max: 5 }, 'ms', noPlugins),
    check('semantic cache hit (built-in embedder): p99', semanticHit?.p99_ms, { max: 25 }, 'ms', `bench/llm-semantic-cache.ts, its own run${semanticHit?.cpu_steal_percent !== undefined && semanticHit.cpu_steal_percent !== null ? ` (CPU steal ${semanticHit.cpu_steal_percent} %)` : ''}`),
    check(
      `no RSS growth over ${(memory?.requests ?? 100_000).toLocaleString('en')} requests: second-half slope`,
      memory?.second_half_slope_mb_per_10k,
      { max: RSS_SLOPE_BOUND_MB_PER_10K },
      'MB/10k req',
      memory ? `steady state ${memory.steady_state_rss_mb} MB` : 'n/a',
    ),
    check(
      'no live-heap growth (after a full GC): second-half slope',
      memory?.second_half_heap_after_gc_slope_mb_per_10k,
      { max: RSS_SLOPE_BOUND_MB_PER_10K },
      'MB/10k req',
      memory ? `steady state ${memory.steady_state_heap_after_gc_mb} MB` : 'n/a',
    ),
  ];
}
