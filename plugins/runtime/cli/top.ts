import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import type { UsageEvent } from '../usage-events';
import { summarizeUsage, UsageSummarySchema, type UsageSummary } from '../observability/usage-summary';
import type { CliOutput } from './validate';

export const TOP_USAGE = `kong-llm top [options]   an at-a-glance summary of recent LLM traffic
  --url URL       the built-in dashboard (e.g. http://127.0.0.1:9543); token from --token or $LLM_ADMIN_TOKEN
  --token TOKEN   the admin token (prefer $LLM_ADMIN_TOKEN: arguments show in process lists)
  --events FILE   a usage-event JSON-lines file instead (LLM_USAGE_LOG or the stdout sink's output)
  --json          print the summary as JSON`;

export async function runTop(args: string[], out: CliOutput, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { url: { type: 'string' }, token: { type: 'string' }, events: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    out.log(TOP_USAGE);
    return 0;
  }
  if (!values.url === !values.events) {
    out.error(`top needs exactly one of --url or --events\n${TOP_USAGE}`);
    return 2;
  }
  const summary = values.events ? summarizeUsage(await readEvents(values.events)) : await fetchSummary(values.url!, values.token ?? env.LLM_ADMIN_TOKEN);
  out.log(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
  return 0;
}

/** Usage events from a JSON-lines file: bare events, or `{"usage_event": …}` lines (LLM_USAGE_LOG=stderr); others skipped. */
export async function readEvents(file: string): Promise<UsageEvent[]> {
  const events: UsageEvent[] = [];
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    const candidate = (parsed as { usage_event?: unknown }).usage_event ?? parsed;
    if (looksLikeUsageEvent(candidate)) events.push(candidate);
  }
  return events;
}

/** The fields the summary needs; plugin annotations are read leniently (files may come from older versions). */
function looksLikeUsageEvent(v: unknown): v is UsageEvent {
  const e = v as Partial<UsageEvent> | null;
  return typeof e?.request_id === 'string' && typeof e.time === 'string' && typeof e.status === 'number' && typeof e.latency_ms === 'number' && Array.isArray(e.consumer_groups);
}

async function fetchSummary(url: string, token: string | undefined): Promise<UsageSummary> {
  if (!token) throw new Error('--url needs the admin token (--token or $LLM_ADMIN_TOKEN)');
  const res = await request(new URL('api/summary', url.endsWith('/') ? url : `${url}/`), {
    headers: { authorization: `Bearer ${token}` },
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`${url} answered HTTP ${res.statusCode}${res.statusCode === 401 ? ' (wrong admin token?)' : ''}`);
  }
  return UsageSummarySchema.parse(await res.body.json());
}

const usd = (v: number) => `$${v.toFixed(v !== 0 && Math.abs(v) < 1 ? 6 : 2)}`;
const ms = (v: number | null) => (v === null ? '-' : `${Math.round(v)} ms`);

/** The summary as a compact plain-text table (fits 80 columns). */
export function formatSummary(s: UsageSummary): string {
  const rejections = Object.entries(s.rejections)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const head: [string, string][] = [
    ['window', s.window.from ? `${s.window.from} .. ${s.window.to}` : 'no events'],
    ['requests', `${s.requests} (${s.streamed} streamed)`],
    ['errors', `${s.errors} (provider ${s.provider_errors}, fallbacks ${s.fallbacks})`],
    ['rejections', rejections || '0'],
    ['tokens', `${s.tokens.total} (prompt ${s.tokens.prompt}, completion ${s.tokens.completion}, cached ${s.tokens.cached})`],
    ['spend', usd(s.spend_usd)],
    ['latency', `p50 ${ms(s.latency_ms.p50)}, p95 ${ms(s.latency_ms.p95)} (ttft p50 ${ms(s.ttft_ms.p50)}, p95 ${ms(s.ttft_ms.p95)})`],
    ['cache', `hit rate ${s.cache.hit_rate === null ? '-' : `${(s.cache.hit_rate * 100).toFixed(1)}%`} (${s.cache.hits} hits, ${s.cache.misses} misses), saved ${usd(s.cache.savings_usd)}`],
  ];
  const lines = head.map(([k, v]) => `${k.padEnd(11)}${v}`);
  for (const [title, rows] of [['team', s.spend_by.team], ['model', s.spend_by.model]] as const) {
    const width = Math.max(title.length, ...rows.map((r) => r.key.length));
    lines.push('', `${title.padEnd(width)}  ${'requests'.padStart(8)}  ${'tokens'.padStart(9)}  ${'spend'.padStart(11)}`);
    for (const r of rows.slice(0, 10)) lines.push(`${r.key.padEnd(width)}  ${String(r.requests).padStart(8)}  ${String(r.tokens).padStart(9)}  ${usd(r.usd).padStart(11)}`);
  }
  return lines.join('\n');
}
