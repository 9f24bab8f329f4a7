/** bench/results/memory.json: plugin-server RSS under sustained load (bench/memory.ts). */
export interface MemoryFigures {
  date: string;
  quick: boolean;
  requests: number;
  connections: number;
  rps: number;
  steady_state_rss_mb: number;
  final_rss_mb: number;
  max_rss_mb: number;
  /** Least-squares slope of RSS over the second half of the run. */
  second_half_slope_mb_per_10k: number;
  samples: { requests: number; rss_mb: number }[];
}
