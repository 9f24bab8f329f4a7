import { parseArgs } from 'node:util';
import { DateTime } from 'luxon';
import { readAggregates, type AggregateRow, type Amounts, METRICS } from '../../llm-cost-attribution/aggregates';
import { dimensionValues } from '../../llm-cost-attribution/attribution';
import { usdString } from '../../llm-cost-attribution/cost';
import { DIMENSION_PATTERN } from '../../llm-cost-attribution/schema';
import { createStore } from '../store';
import type { Store } from '../store/types';
import type { CliOutput } from './validate';

export const REPORT_USAGE = `kong-llm report [options]   spend from llm-cost-attribution's aggregates
  --by DIMS         comma-separated: consumer, consumer_group, route, service, provider, model, tag:<name> (default consumer)
  --from DAY        first day, YYYY-MM-DD (default: today)         --to DAY   last day (default: --from)
  --days N          the last N days up to today (instead of --from/--to)
  --format F        table | csv | json (default table)
  --redis-url URL   the Redis the plugins use (default $LLM_REDIS_URL or redis://127.0.0.1:6379)
  --key-prefix P    the plugins' redis.key_prefix (default llm:)
  --time-zone TZ    the plugins' report_time_zone, for "today" (default UTC)`;

export interface ReportDeps {
  /** A store to read instead of connecting to Redis (tests; the local policy's in-process store). */
  store?: Store;
  now?: () => number;
}

interface Group {
  key: string[];
  amounts: Amounts;
}

const emptyAmounts = (): Amounts => Object.fromEntries(METRICS.map((m) => [m, 0])) as Amounts;

/**
 * Spend per group over whole days. A request of a consumer in two consumer groups counts in both groups' rows
 * when grouping by consumer_group; every other grouping adds up to the total.
 */
export function groupRows(rows: AggregateRow[], by: string[]): Group[] {
  const groups = new Map<string, Group>();
  for (const row of rows) {
    const a = { ...row.tuple, tags: row.tuple.tags ?? {} };
    let keys: string[][] = [[]];
    for (const d of by) keys = keys.flatMap((prefix) => dimensionValues(a, d).map((v) => [...prefix, v]));
    for (const key of keys) {
      const id = JSON.stringify(key);
      let g = groups.get(id);
      if (!g) {
        g = { key, amounts: emptyAmounts() };
        groups.set(id, g);
      }
      for (const m of METRICS) g.amounts[m] += row.amounts[m];
    }
  }
  return [...groups.values()].sort((x, y) => y.amounts.micro_usd - x.amounts.micro_usd || x.key.join().localeCompare(y.key.join()));
}

function csvCell(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function render(format: string, by: string[], groups: Group[], total: Amounts, period: { from: string; to: string }): string {
  const cols = [...by, 'usd', 'requests', 'prompt_tokens', 'completion_tokens', 'rejected'];
  const cells = (key: string[], a: Amounts) => [...key, usdString(a.micro_usd), String(a.requests), String(a.prompt_tokens), String(a.completion_tokens), String(a.rejected)];
  if (format === 'json') {
    return JSON.stringify(
      {
        from: period.from,
        to: period.to,
        by,
        rows: groups.map((g) => ({ ...Object.fromEntries(by.map((d, i) => [d, g.key[i]])), usd: usdString(g.amounts.micro_usd), ...g.amounts })),
        total: { usd: usdString(total.micro_usd), ...total },
      },
      null,
      2,
    );
  }
  const lines = [cols, ...groups.map((g) => cells(g.key, g.amounts))];
  if (format === 'csv') return lines.map((l) => l.map(csvCell).join(',')).join('\n');
  lines.push(cells([...by.map((_, i) => (i === 0 ? 'TOTAL' : ''))], total));
  const widths = cols.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const numeric = (i: number) => i >= by.length;
  const fmt = (l: string[]) => l.map((c, i) => (numeric(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [`spend ${period.from} .. ${period.to}`, fmt(lines[0]), rule, ...lines.slice(1, -1).map(fmt), rule, fmt(lines.at(-1)!)].join('\n');
}

const CONNECT_WITHIN_MS = 5_000;

/** The Redis store connects in the background and fails calls until then (no offline queue): wait, bounded. */
async function untilConnected(store: Store, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      await store.get('report:probe');
      return;
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** `kong-llm report`: 0 = printed, 2 = bad arguments or the store could not be read. */
export async function runReport(args: string[], out: CliOutput, deps: ReportDeps = {}): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    out.log(REPORT_USAGE);
    return 0;
  }
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        by: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        days: { type: 'string' },
        format: { type: 'string' },
        'redis-url': { type: 'string' },
        'key-prefix': { type: 'string' },
        'time-zone': { type: 'string' },
      },
    }));
  } catch (err) {
    out.error(`${err instanceof Error ? err.message : String(err)}\n${REPORT_USAGE}`);
    return 2;
  }
  const by = (values.by ?? 'consumer').split(',').map((s) => s.trim()).filter(Boolean);
  const bad = by.find((d) => !DIMENSION_PATTERN.test(d));
  if (bad) {
    out.error(`unknown dimension ${bad}\n${REPORT_USAGE}`);
    return 2;
  }
  const format = values.format ?? 'table';
  if (!['table', 'csv', 'json'].includes(format)) {
    out.error(`--format must be table, csv or json\n${REPORT_USAGE}`);
    return 2;
  }
  const zone = values['time-zone'] ?? 'UTC';
  const today = DateTime.fromMillis((deps.now ?? Date.now)(), { zone });
  if (!today.isValid) {
    out.error(`unknown time zone ${zone}`);
    return 2;
  }
  let from = values.from ?? today.toFormat('yyyy-MM-dd');
  let to = values.to ?? values.from ?? today.toFormat('yyyy-MM-dd');
  if (values.days) {
    const n = Number(values.days);
    if (!Number.isInteger(n) || n < 1) {
      out.error('--days must be a positive integer');
      return 2;
    }
    from = today.minus({ days: n - 1 }).toFormat('yyyy-MM-dd');
    to = today.toFormat('yyyy-MM-dd');
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || !/^\d{4}-\d{2}-\d{2}$/.test(to)) {
    out.error('--from and --to take YYYY-MM-DD');
    return 2;
  }
  const store =
    deps.store ??
    createStore({
      type: 'redis',
      url: values['redis-url'] ?? process.env.LLM_REDIS_URL ?? 'redis://127.0.0.1:6379',
      keyPrefix: values['key-prefix'] ?? 'llm:',
    });
  try {
    if (!deps.store) await untilConnected(store, CONNECT_WITHIN_MS);
    const rows = await readAggregates(store, from, to);
    const groups = groupRows(rows, by);
    const total = emptyAmounts();
    for (const r of rows) for (const m of METRICS) total[m] += r.amounts[m];
    out.log(render(format, by, groups, total, { from, to }));
    return 0;
  } catch (err) {
    out.error(`report failed: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  } finally {
    if (!deps.store) await store.close();
  }
}
