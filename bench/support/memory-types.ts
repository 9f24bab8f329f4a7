/** One reading of the plugin server's memory during the run. */
export interface MemorySample {
  requests: number;
  /** As the load left it (no collection forced). */
  rss_mb: number;
  /** Right after a full garbage collection (GetStatus {Gc: true}). */
  rss_after_gc_mb: number;
  heap_after_gc_mb: number;
}

/** bench/results/memory.json: plugin-server memory under sustained load (bench/memory.ts). */
export interface MemoryFigures {
  date: string;
  quick: boolean;
  requests: number;
  connections: number;
  rps: number;
  steady_state_rss_mb: number;
  final_rss_mb: number;
  max_rss_mb: number;
  steady_state_heap_after_gc_mb: number;
  final_heap_after_gc_mb: number;
  /** Least-squares slopes over the second half of the run, in MB per 10,000 requests. */
  second_half_slope_mb_per_10k: number;
  second_half_rss_after_gc_slope_mb_per_10k: number;
  second_half_heap_after_gc_slope_mb_per_10k: number;
  samples: MemorySample[];
}
