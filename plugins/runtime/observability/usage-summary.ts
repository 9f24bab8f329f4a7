import { z } from 'zod';
import type { UsageEvent } from '../usage-events';

/**
 * At-a-glance figures over a set of usage events: what the built-in dashboard page and `kong-llm top` show. Pure
 * functions of the events, so the page, the CLI and the tests agree on every number.
 */

const Breakdown = z.array(z.object({ key: z.string(), requests: z.number(), usd: z.number(), tokens: z.number() }));
const Percentiles = z.object({ p50: z.number().nullable(), p95: z.number().nullable() });

export const UsageSummarySchema = z.object({
  window: z.object({ from: z.string().nullable(), to: z.string().nullable(), events: z.number(), capacity: z.number().optional() }),
  requests: z.number(),
  errors: z.number(),
  streamed: z.number(),
  rejections: z.record(z.string(), z.number()).describe('requests refused by a plugin, by reason (pii, limit, budget, …)'),
  provider_errors: z.number(),
  fallbacks: z.number().describe('requests answered after more than one provider attempt'),
  tokens: z.object({ prompt: z.number(), completion: z.number(), total: z.number(), cached: z.number() }),
  spend_usd: z.number(),
  spend_by: z.object({ team: Breakdown, consumer: Breakdown, model: Breakdown }),
  latency_ms: Percentiles,
  ttft_ms: Percentiles,
  cache: z.object({ hits: z.number(), misses: z.number(), hit_rate: z.number().nullable(), savings_usd: z.number() }),
  timeline: z.array(z.object({ t: z.string(), requests: z.number(), errors: z.number(), usd: z.number() })),
});
export type UsageSummary = z.infer<typeof UsageSummarySchema>;

/** Plugin → the reason shown for its rejections. */
const REJECTION_REASON: Record<string, string> = {
  'llm-pii-guard': 'pii',
  'llm-token-limit': 'limit',
  'llm-cost-attribution': 'budget',
};

const NONE = '(none)';

export function summarizeUsage(events: readonly UsageEvent[], opts: { capacity?: number; bucketMs?: number; buckets?: number } = {}): UsageSummary {
  const rejections: Record<string, number> = {};
  const tokens = { prompt: 0, completion: 0, total: 0, cached: 0 };
  const by = { team: new Map<string, Row>(), consumer: new Map<string, Row>(), model: new Map<string, Row>() };
  const latencies: number[] = [];
  const ttfts: number[] = [];
  let errors = 0;
  let streamed = 0;
  let providerErrors = 0;
  let fallbacks = 0;
  let spendMicro = 0;
  let hits = 0;
  let misses = 0;
  let savingsMicro = 0;
  for (const e of events) {
    const micro = costMicroUsd(e);
    const tokenCount = e.usage?.total_tokens ?? 0;
    spendMicro += micro;
    if (e.stream) streamed++;
    if (isError(e)) errors++;
    if (e.answered_by && e.status >= 400) {
      const reason = (e.cost as { rejected_unpriced_model?: unknown } | undefined)?.rejected_unpriced_model ? 'unpriced_model' : (REJECTION_REASON[e.answered_by] ?? e.answered_by);
      rejections[reason] = (rejections[reason] ?? 0) + 1;
    }
    if (isProviderError(e)) providerErrors++;
    if (providerAttempts(e).length > 1) fallbacks++;
    if (e.usage) {
      tokens.prompt += e.usage.prompt_tokens;
      tokens.completion += e.usage.completion_tokens;
      tokens.total += e.usage.total_tokens;
      tokens.cached += e.usage.cached_tokens ?? 0;
    }
    addTo(by.team, teamOf(e), micro, tokenCount);
    addTo(by.consumer, e.consumer?.username ?? e.consumer?.id ?? NONE, micro, tokenCount);
    addTo(by.model, e.model ?? NONE, micro, tokenCount);
    if (e.status > 0 && e.status < 400) latencies.push(e.latency_ms);
    if (e.ttft_ms !== undefined) ttfts.push(e.ttft_ms);
    const cache = cacheOf(e);
    if (cache.status === 'hit') hits++;
    else if (cache.status === 'miss') misses++;
    savingsMicro += cache.savingsMicroUsd;
  }
  const times = events.map((e) => Date.parse(e.time)).filter(Number.isFinite);
  return {
    window: {
      from: times.length ? new Date(Math.min(...times)).toISOString() : null,
      to: times.length ? new Date(Math.max(...times)).toISOString() : null,
      events: events.length,
      capacity: opts.capacity,
    },
    requests: events.length,
    errors,
    streamed,
    rejections,
    provider_errors: providerErrors,
    fallbacks,
    tokens,
    spend_usd: spendMicro / 1e6,
    spend_by: { team: rows(by.team), consumer: rows(by.consumer), model: rows(by.model) },
    latency_ms: { p50: percentile(latencies, 50), p95: percentile(latencies, 95) },
    ttft_ms: { p50: percentile(ttfts, 50), p95: percentile(ttfts, 95) },
    cache: { hits, misses, hit_rate: hits + misses > 0 ? hits / (hits + misses) : null, savings_usd: savingsMicro / 1e6 },
    timeline: timeline(events, opts.bucketMs ?? 60_000, opts.buckets ?? 30),
  };
}

interface Row {
  requests: number;
  micro: number;
  tokens: number;
}

function addTo(map: Map<string, Row>, key: string, micro: number, tokens: number): void {
  const row = map.get(key) ?? { requests: 0, micro: 0, tokens: 0 };
  row.requests++;
  row.micro += micro;
  row.tokens += tokens;
  map.set(key, row);
}

function rows(map: Map<string, Row>) {
  return [...map]
    .map(([key, r]) => ({ key, requests: r.requests, usd: r.micro / 1e6, tokens: r.tokens }))
    .sort((a, b) => b.usd - a.usd || b.requests - a.requests || a.key.localeCompare(b.key));
}

/** Nearest-rank percentile (the value at rank ceil(p/100·n)); null without samples. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

function timeline(events: readonly UsageEvent[], bucketMs: number, buckets: number) {
  const counts = new Map<number, { requests: number; errors: number; micro: number }>();
  for (const e of events) {
    const t = Date.parse(e.time);
    if (!Number.isFinite(t)) continue;
    const start = t - (t % bucketMs);
    const c = counts.get(start) ?? { requests: 0, errors: 0, micro: 0 };
    c.requests++;
    if (isError(e)) c.errors++;
    c.micro += costMicroUsd(e);
    counts.set(start, c);
  }
  if (counts.size === 0) return [];
  const last = Math.max(...counts.keys());
  const first = Math.max(Math.min(...counts.keys()), last - (buckets - 1) * bucketMs);
  const points = [];
  for (let t = first; t <= last; t += bucketMs) {
    const c = counts.get(t) ?? { requests: 0, errors: 0, micro: 0 }; // quiet minutes stay on the chart as zeros
    points.push({ t: new Date(t).toISOString(), requests: c.requests, errors: c.errors, usd: c.micro / 1e6 });
  }
  return points;
}

export const isError = (e: UsageEvent) => e.status === 0 || e.status >= 400;

/** An error the provider gave (or the gateway got reaching it), as opposed to a plugin's refusal. */
export function isProviderError(e: UsageEvent): boolean {
  return !e.answered_by && (e.status >= 500 || (e.error_code?.startsWith('upstream') ?? false));
}

/** The team a request is booked under: the cost tag `team`, else the first consumer group. */
export function teamOf(e: UsageEvent): string {
  const tags = (e.cost as { tags?: Record<string, string> } | undefined)?.tags;
  return tags?.team ?? e.consumer_groups[0] ?? NONE;
}

export function costMicroUsd(e: UsageEvent): number {
  const micro = (e.cost as { micro_usd?: unknown } | undefined)?.micro_usd;
  return typeof micro === 'number' && Number.isFinite(micro) ? micro : 0;
}

/** llm-proxy's record of each provider call (`{provider, model, status, latency_ms, reason}`), when it keeps one. */
export interface ProviderAttempt {
  target?: string;
  provider?: string;
  model?: string;
  status?: number;
  latency_ms?: number;
  reason?: string;
  server_address?: string;
}

/** A failed call: an error status (0 = none received), or a failure recorded after a 200 (a stream cut mid-way). */
export function attemptFailed(a: ProviderAttempt): boolean {
  return a.status === undefined || a.status === 0 || a.status >= 400 || (a.reason !== undefined && a.reason !== 'ok');
}

export function providerAttempts(e: UsageEvent): ProviderAttempt[] {
  const attempts = (e.llm_proxy as { attempts?: unknown } | undefined)?.attempts;
  return Array.isArray(attempts) ? attempts.filter((a): a is ProviderAttempt => typeof a === 'object' && a !== null) : [];
}

/** llm-semantic-cache's annotation: status (hit, miss, bypass, refresh) and, on a hit, what the provider call would have cost. */
export function cacheOf(e: UsageEvent): { status?: string; savingsMicroUsd: number } {
  const cache = e.cache as { status?: unknown; micro_usd_saved?: unknown } | undefined;
  const savings = cache?.micro_usd_saved;
  return {
    status: typeof cache?.status === 'string' ? cache.status : undefined,
    savingsMicroUsd: typeof savings === 'number' && Number.isFinite(savings) ? savings : 0,
  };
}
