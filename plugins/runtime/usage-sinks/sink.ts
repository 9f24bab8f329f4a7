import type { UsageEvent } from '../usage-events';

/** Counts of one sink since it started. delivered + dropped + queued = events written (a replay may deliver twice). */
export interface SinkStats {
  delivered: number;
  /** Events given up: buffer full (oldest first), refused by the receiver (4xx), or still queued at close. */
  dropped: number;
  /** Events waiting in memory. */
  queued: number;
  /** Failed delivery attempts (each retried). */
  failures: number;
}

/** Where usage events go. write() never blocks or throws; delivery happens in the background. */
export interface UsageSink {
  readonly name: string;
  write(event: UsageEvent): void;
  /** Resolves true once everything written so far is delivered, false if that did not happen within timeoutMs. */
  flush(timeoutMs?: number): Promise<boolean>;
  /** Stops delivery; whatever is still queued is counted as dropped. */
  close(): Promise<void>;
  stats(): SinkStats;
}
