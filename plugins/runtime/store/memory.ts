import { MinHeap } from './min-heap';
import { SETTLED_TOMBSTONE_MS, type ReserveRequest, type ReserveResult, type Store } from './types';
import { assertActuals, assertAmount, assertDuration, assertReserveRequest } from './validate';

interface Expiring {
  /** epoch ms; Infinity = never */
  expiresAt: number;
}
interface ValueEntry extends Expiring {
  value: string;
}
interface CounterEntry extends Expiring {
  total: number;
}
interface Reservation {
  /** Each item holds the counter entry it reserved on, so a counter recreated under the same key is never touched. */
  items: { key: string; amount: number; counter: CounterEntry }[];
  expiresAt: number;
}


export interface MemoryStoreOptions {
  /** How often the background sweep runs (default 1000 ms). */
  sweepIntervalMs?: number;
  /** How many entries per map one sweep looks at (default 10 000), so a sweep never blocks for long. */
  sweepBudget?: number;
  /** How long a settled reservation is remembered (default SETTLED_TOMBSTONE_MS). */
  settledTombstoneMs?: number;
}

/** Walks a map a bounded number of entries at a time, resuming where it stopped, deleting expired entries. */
class ExpirySweeper<E extends Expiring> {
  private cursor: Iterator<[string, E]> | undefined;
  constructor(private readonly map: Map<string, E>) {}

  sweep(now: number, budget: number): void {
    for (let seen = 0; seen < budget; seen++) {
      this.cursor ??= this.map.entries();
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = undefined;
        return;
      }
      const [key, entry] = next.value;
      if (entry.expiresAt <= now) this.map.delete(key);
    }
  }
}

/** Single-process store: the embedded default. Every method runs synchronously inside, so each call is atomic. */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  private readonly values = new Map<string, ValueEntry>();
  private readonly counters = new Map<string, CounterEntry>();
  private readonly reservations = new Map<string, Reservation>();
  private readonly reservationExpiries = new MinHeap<{ at: number; id: string }>();
  /** Settled reservation id → until when it is remembered; in settle order, which is nearly expiry order. */
  private readonly settled = new Map<string, number>();
  /** Heap entries of reservations already settled: the heap is compacted when they are the majority. */
  private staleExpiries = 0;
  private readonly sweepers = [new ExpirySweeper(this.values), new ExpirySweeper(this.counters)];
  private readonly sweepTimer: NodeJS.Timeout;

  private readonly tombstoneMs: number;

  constructor(options: MemoryStoreOptions = {}) {
    const budget = options.sweepBudget ?? 10_000;
    this.tombstoneMs = options.settledTombstoneMs ?? SETTLED_TOMBSTONE_MS;
    this.sweepTimer = setInterval(() => {
      const now = Date.now();
      this.expireReservations(now);
      for (const sweeper of this.sweepers) sweeper.sweep(now, budget);
    }, options.sweepIntervalMs ?? 1000);
    this.sweepTimer.unref();
  }

  async get(key: string): Promise<string | null> {
    return live(this.values, key, Date.now())?.value ?? null;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs !== undefined) assertDuration('ttlMs', ttlMs);
    this.values.set(key, { value, expiresAt: ttlMs === undefined ? Infinity : Date.now() + ttlMs });
  }

  async del(key: string): Promise<void> {
    this.values.delete(key);
  }

  async incrBy(key: string, amount: number, ttlMs: number): Promise<number> {
    assertAmount('amount', amount);
    assertDuration('ttlMs', ttlMs);
    const now = Date.now();
    this.expireReservations(now);
    const counter = this.counterFor(key, ttlMs, now);
    counter.total += amount;
    return counter.total;
  }

  async reserve(req: ReserveRequest): Promise<ReserveResult> {
    assertReserveRequest(req);
    const now = Date.now();
    this.expireReservations(now);
    if (this.reservations.has(req.id) || this.isSettled(req.id, now)) throw new Error('reservation id already in use');
    const earlierSums = req.items.map((item) => (item.window?.earlier ?? []).reduce((sum, k) => sum + (live(this.counters, k, now)?.total ?? 0), 0));
    const current = req.items.map((item, i) => (live(this.counters, item.key, now)?.total ?? 0) + earlierSums[i]);
    const rejectedIndex = req.items.findIndex((item, i) => item.amount > 0 && current[i] + item.amount > item.limit);
    if (rejectedIndex >= 0) return { ok: false, totals: current, rejectedIndex };

    const items = req.items.map(({ key, amount, windowMs }) => {
      const counter = this.counterFor(key, windowMs, now);
      counter.total += amount;
      return { key, amount, counter };
    });
    this.reservations.set(req.id, { items, expiresAt: now + req.ttlMs });
    this.reservationExpiries.push({ at: now + req.ttlMs, id: req.id });
    return { ok: true, totals: items.map((item, i) => item.counter.total + earlierSums[i]) };
  }

  async settle(id: string, actual: Record<string, number>): Promise<boolean> {
    assertActuals(actual);
    const now = Date.now();
    this.expireReservations(now);
    if (this.isSettled(id, now)) return true;
    const reservation = this.reservations.get(id);
    if (!reservation) return false;
    for (const item of reservation.items) {
      if (live(this.counters, item.key, now) !== item.counter) continue; // window expired: do not resurrect
      const used = Object.hasOwn(actual, item.key) ? actual[item.key] : 0;
      item.counter.total = Math.max(0, item.counter.total + used - item.amount);
    }
    this.reservations.delete(id);
    this.settled.set(id, Math.min(now + this.tombstoneMs, reservation.expiresAt));
    if (++this.staleExpiries > 1_000 && this.staleExpiries * 2 > this.reservationExpiries.size) {
      this.reservationExpiries.retain((e) => this.reservations.has(e.id));
      this.staleExpiries = 0;
    }
    return true;
  }

  private isSettled(id: string, now: number): boolean {
    const until = this.settled.get(id);
    return until !== undefined && until > now;
  }

  async totals(keys: string[]): Promise<number[]> {
    const now = Date.now();
    this.expireReservations(now);
    return keys.map((key) => live(this.counters, key, now)?.total ?? 0);
  }

  /** Entries currently held (expired ones included until a sweep or an access removes them). */
  size(): { values: number; counters: number; reservations: number; expiryQueue: number } {
    return {
      values: this.values.size,
      counters: this.counters.size,
      reservations: this.reservations.size + this.settled.size,
      expiryQueue: this.reservationExpiries.size,
    };
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.values.clear();
    this.counters.clear();
    this.reservations.clear();
    this.settled.clear();
    this.reservationExpiries.clear();
  }

  private counterFor(key: string, windowMs: number, now: number): CounterEntry {
    let counter = live(this.counters, key, now);
    if (!counter) {
      counter = { total: 0, expiresAt: now + windowMs };
      this.counters.set(key, counter);
    }
    return counter;
  }

  /**
   * Cost O(number expired): pops due reservations off a heap and gives back what unsettled ones held (a settled one
   * is no longer in the map), then forgets tombstones whose time is up.
   */
  private expireReservations(now: number): void {
    for (let due = this.reservationExpiries.peek(); due && due.at <= now; due = this.reservationExpiries.peek()) {
      this.reservationExpiries.pop();
      const reservation = this.reservations.get(due.id);
      if (!reservation) {
        this.staleExpiries = Math.max(0, this.staleExpiries - 1);
        continue;
      }
      this.reservations.delete(due.id);
      for (const item of reservation.items) item.counter.total = Math.max(0, item.counter.total - item.amount);
    }
    for (const [id, until] of this.settled) {
      if (until > now) break;
      this.settled.delete(id);
    }
  }
}

function live<E extends Expiring>(map: Map<string, E>, key: string, now: number): E | undefined {
  const entry = map.get(key);
  if (entry && entry.expiresAt <= now) {
    map.delete(key);
    return undefined;
  }
  return entry;
}
