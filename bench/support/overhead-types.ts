import type { LoadFigures, ThroughputFigures } from './load';
import type { RoundTripFloor } from './round-trip-floor';
import type { StreamFigures } from './streaming';

/** The path with the bare Node relay (bench/support/bare-relay.ts) in place of the plugin server: the floor. */
export const BARE_RELAY = 'bare relay';

/** The plugin work per request, independent of the emulator's own cost (null on paths without a plugin server). */
export interface PluginWork {
  server_cpu_us_per_request: number | null;
  rpcs_per_request: number | null;
}

/** Non-streaming traffic (cache miss or cache hit) on one path. */
export interface RequestFigures extends PluginWork {
  /** Concurrency 1. */
  c1: LoadFigures;
  /** Added latency at concurrency 1 over the emulator with no plugins, and over the mock called directly. */
  added_vs_baseline: { p50_ms: number; p99_ms: number } | null;
  added_vs_direct: { p50_ms: number; p99_ms: number } | null;
  throughput: ThroughputFigures;
}

export interface StreamingFigures extends StreamFigures, PluginWork {
  /** Client-measured time to first token minus the direct one (p50), and inter-chunk gap p99 minus the direct one. */
  ttft_overhead_ms: number | null;
  gap_p99_overhead_ms: number | null;
}

/** A traffic kind that could not be measured on a path, and why (e.g. the cache plugin is not ready). */
export interface Unavailable {
  unavailable: string;
}

export interface PathFigures {
  plugins: string[];
  miss: RequestFigures | Unavailable;
  streaming: StreamingFigures | Unavailable;
  /** Only on paths with llm-semantic-cache (exact mode, one repeated prompt). */
  cache_hit?: RequestFigures | Unavailable;
  /** CPU time the hypervisor gave to other guests while this path was measured (null: not Linux). */
  cpu_steal_percent?: number | null;
}

export interface OverheadReport {
  date: string;
  machine: string;
  quick: boolean;
  seconds_per_run: number;
  concurrencies: number[];
  p99_bound_ms: number;
  stream: { requests_per_path: number; chunk_delay_ms: number };
  round_trip_floor: RoundTripFloor;
  /** CPU steal over the whole run, in percent (see bench/support/cpu-steal.ts). */
  cpu_steal_percent?: number | null;
  direct: { miss: RequestFigures; streaming: StreamingFigures };
  /** By scenario name: baseline (emulator, key-auth, no plugin of ours), llm-proxy, each plugin with llm-proxy, all five. */
  paths: Record<string, PathFigures>;
}

export function isUnavailable<T extends object>(value: T | Unavailable | undefined): value is Unavailable | undefined {
  return value === undefined || 'unavailable' in value;
}
