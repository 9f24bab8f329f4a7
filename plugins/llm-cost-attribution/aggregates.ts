import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import type { Store } from '../runtime/store/types';
import type { Attribution } from './attribution';

/**
 * Per-day spend aggregates in the store, readable by the report command on any node.
 *
 * A day holds one set of counters per distinct attribution tuple (consumer, groups, route, service, provider, model,
 * tags): any grouping (by team, by model, team × model …) is computed from the tuples at report time. The tuples of a
 * day are enumerable through an index: counter `cost:agg:<day>:n` numbers them, value `cost:agg:<day>:t:<i>` holds
 * tuple i. The first writer of a tuple (counter `…:seen:<hash>` reaching 1) registers it.
 */
export const METRICS = ['micro_usd', 'requests', 'prompt_tokens', 'completion_tokens', 'rejected'] as const;
export type Metric = (typeof METRICS)[number];
export type Amounts = Record<Metric, number>;

export type Tuple = Omit<Attribution, never>;

/** The current day per time zone, with its bounds: luxon's zone arithmetic runs once a day, not on every request. */
const currentDays = new Map<string, { day: string; startMs: number; endMs: number }>();

export function dayOf(nowMs: number, timeZone: string): string {
  const known = currentDays.get(timeZone);
  if (known && nowMs >= known.startMs && nowMs < known.endMs) return known.day;
  const at = DateTime.fromMillis(nowMs, { zone: timeZone });
  const day = at.toFormat('yyyy-MM-dd');
  if (currentDays.size < 100) currentDays.set(timeZone, { day, startMs: at.startOf('day').toMillis(), endMs: at.endOf('day').toMillis() + 1 });
  return day;
}

function tupleHash(t: Tuple): string {
  return createHash('sha256').update(JSON.stringify(t)).digest('base64url').slice(0, 22);
}

const metricKey = (day: string, hash: string, metric: Metric) => `cost:agg:${day}:${hash}:${metric}`;
const MAX_REGISTERED_MEMO = 50_000;

export class AggregateWriter {
  /** Tuples this process registered (or saw registered) today: saves the `seen` round trip on every request. */
  private readonly registered = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly retentionMs: number,
  ) {}

  async add(day: string, tuple: Tuple, amounts: Partial<Amounts>): Promise<void> {
    const hash = tupleHash(tuple);
    await this.register(day, hash, tuple);
    const writes: Promise<number>[] = [];
    for (const metric of METRICS) {
      const amount = amounts[metric];
      if (amount !== undefined && amount > 0) writes.push(this.store.incrBy(metricKey(day, hash, metric), amount, this.retentionMs));
    }
    await Promise.all(writes);
  }

  private async register(day: string, hash: string, tuple: Tuple): Promise<void> {
    const memo = `${day}:${hash}`;
    if (this.registered.has(memo)) return;
    const seen = await this.store.incrBy(`cost:agg:${day}:seen:${hash}`, 1, this.retentionMs);
    if (seen === 1) {
      const index = await this.store.incrBy(`cost:agg:${day}:n`, 1, this.retentionMs);
      await this.store.set(`cost:agg:${day}:t:${index}`, JSON.stringify(tuple), this.retentionMs);
    }
    if (this.registered.size >= MAX_REGISTERED_MEMO) this.registered.clear();
    this.registered.add(memo);
  }
}

export interface AggregateRow {
  day: string;
  tuple: Tuple;
  amounts: Amounts;
}

/** Every tuple's amounts for each day from `fromDay` to `toDay` (inclusive, yyyy-MM-dd). */
export async function readAggregates(store: Store, fromDay: string, toDay: string): Promise<AggregateRow[]> {
  const rows: AggregateRow[] = [];
  for (const day of daysBetween(fromDay, toDay)) {
    const [n] = await store.totals([`cost:agg:${day}:n`]);
    if (!n) continue;
    const raw = await Promise.all(Array.from({ length: n }, (_, i) => store.get(`cost:agg:${day}:t:${i + 1}`)));
    const tuples = raw.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as Tuple);
    const keys = tuples.flatMap((t) => METRICS.map((m) => metricKey(day, tupleHash(t), m)));
    const totals = keys.length > 0 ? await store.totals(keys) : [];
    tuples.forEach((tuple, i) => {
      const amounts = Object.fromEntries(METRICS.map((m, j) => [m, totals[i * METRICS.length + j]])) as Amounts;
      rows.push({ day, tuple, amounts });
    });
  }
  return rows;
}

const MAX_REPORT_DAYS = 3660;

export function daysBetween(fromDay: string, toDay: string): string[] {
  const from = DateTime.fromISO(fromDay, { zone: 'UTC' });
  const to = DateTime.fromISO(toDay, { zone: 'UTC' });
  if (!from.isValid || !to.isValid) throw new Error('days must be given as YYYY-MM-DD');
  const days: string[] = [];
  for (let d = from; d <= to && days.length < MAX_REPORT_DAYS; d = d.plus({ days: 1 })) days.push(d.toFormat('yyyy-MM-dd'));
  return days;
}
