/** Counts of llm-semantic-cache since the process started, for the metrics endpoint (usage events carry the rest). */
export type CacheStatus = 'hit' | 'miss' | 'bypass' | 'refresh';

const lookups: Record<CacheStatus, number> = { hit: 0, miss: 0, bypass: 0, refresh: 0 };
const hitsByKind = { exact: 0, semantic: 0 };
let guardRejections = 0;
let tokensSaved = 0;
let microUsdSaved = 0;
let stored = 0;

export function countLookup(status: CacheStatus, kind?: 'exact' | 'semantic'): void {
  lookups[status] += 1;
  if (kind) hitsByKind[kind] += 1;
}

export function countGuardRejection(): void {
  guardRejections += 1;
}

export function countSavings(tokens: number, microUsd: number): void {
  tokensSaved += tokens;
  microUsdSaved += microUsd;
}

export function countStored(): void {
  stored += 1;
}

export function cacheMetrics() {
  return { lookups: { ...lookups }, hits_by_kind: { ...hitsByKind }, guard_rejections: guardRejections, tokens_saved: tokensSaved, micro_usd_saved: microUsdSaved, stored };
}

/** Prometheus text; cache_status on kong_ai_llm_requests_total comes from the usage events (runtime/metrics.ts). */
export function cacheMetricsText(): string {
  const counter = (name: string, help: string, lines: string[]) => [`# HELP ${name} ${help}`, `# TYPE ${name} counter`, ...lines];
  return [
    ...counter(
      'llm_suite_cache_lookups_total',
      'Requests seen by llm-semantic-cache, by status (hit, miss, bypass, refresh) and hit kind (exact, semantic).',
      [
        `llm_suite_cache_lookups_total{status="hit",kind="exact"} ${hitsByKind.exact}`,
        `llm_suite_cache_lookups_total{status="hit",kind="semantic"} ${hitsByKind.semantic}`,
        ...(['miss', 'bypass', 'refresh'] as const).map((s) => `llm_suite_cache_lookups_total{status="${s}",kind=""} ${lookups[s]}`),
      ],
    ),
    ...counter('llm_suite_cache_guard_rejections_total', 'Semantic candidates above the threshold refused by the prompt guards.', [`llm_suite_cache_guard_rejections_total ${guardRejections}`]),
    ...counter('llm_suite_cache_tokens_saved_total', 'Provider tokens (prompt + completion) not spent thanks to cache hits.', [`llm_suite_cache_tokens_saved_total ${tokensSaved}`]),
    ...counter('llm_suite_cache_cost_saved_usd_total', 'Provider cost not spent thanks to cache hits, in USD (catalog prices).', [`llm_suite_cache_cost_saved_usd_total ${microUsdSaved / 1e6}`]),
    ...counter('llm_suite_cache_stores_total', 'Answers written to the cache.', [`llm_suite_cache_stores_total ${stored}`]),
    '',
  ].join('\n');
}
