/**
 * The state store (DESIGN §4): plain values with TTLs, fixed-window counters and reservations against them.
 *
 * Values (get/set/del) and counters (incrBy/reserve/settle/totals) are separate namespaces: `get(k)` never reads
 * the counter `k`. A rolling window is a set of fixed sub-bucket counters summed by `reserve` (ReserveItem.window). Counter amounts are non-negative safe integers (tokens; money in micro-units); anything else is
 * rejected with a StoreInputError (a RangeError). Counters are fixed windows: callers put the window start in the
 * key, the store gives the key a TTL of `windowMs` when it creates it and never extends it.
 */

/**
 * windowMs = TTL of the counter key (set when the key is created).
 * window: a rolling window kept as sub-bucket counters. `key` is the current sub-bucket (the amount goes there);
 * `window.earlier` lists the window's other live sub-buckets (read only). The limit is then checked against the SUM of
 * all of them, and the item's total is that sum. Cost O(earlier.length), atomic with the rest of the reservation.
 */
export interface ReserveItem {
  key: string;
  amount: number;
  limit: number;
  windowMs: number;
  window?: { earlier: string[] };
}

/** Most sub-buckets one rolling item may read (bounds the work of one atomic reserve). */
export const MAX_WINDOW_BUCKETS = 1000;

/** ttlMs: the reservation expires by itself after this (its amounts are then subtracted from the counters). */
export interface ReserveRequest {
  id: string;
  ttlMs: number;
  items: ReserveItem[];
}

/**
 * totals per item: after reserving (ok) or current (rejected); for a rolling item, the sum over its sub-buckets.
 * rejectedIndex = first item whose total + amount > limit (an amount of 0 is never rejected).
 */
export interface ReserveResult {
  ok: boolean;
  totals: number[];
  rejectedIndex?: number;
}

export interface Store {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  del(key: string): Promise<void>;
  /** Adds to a counter; the ttl is set when the key is created. Returns the new total. */
  incrBy(key: string, amount: number, ttlMs: number): Promise<number>;
  /** Atomic and all-or-nothing over all items. A reservation id may be used once; keys within one request must differ. */
  reserve(req: ReserveRequest): Promise<ReserveResult>;
  /**
   * Replaces each reserved amount by actual[key] (missing key = 0 = refund; keys that were not reserved are ignored).
   * Never drives a counter below 0, never recreates a counter whose window expired.
   * Returns true when the reservation is (now or already) settled — settling twice changes nothing —
   * and false when it is unknown or expired.
   */
  settle(id: string, actual: Record<string, number>): Promise<boolean>;
  /** Current totals, including outstanding reservations and minus expired ones; 0 for missing counters. */
  totals(keys: string[]): Promise<number[]>;
  close(): Promise<void>;
}

/**
 * How long a settled reservation is remembered, so that a second settle is recognised and changes nothing. Far
 * shorter than the reservation ttl (15 minutes by default): a record per request for the whole ttl would hold
 * hundreds of MB (in the process or in Redis) at a few hundred requests per second.
 */
export const SETTLED_TOMBSTONE_MS = 60_000;
