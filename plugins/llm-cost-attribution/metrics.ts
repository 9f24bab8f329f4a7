import type { Attribution } from './attribution';
import { webhookStats } from './webhook';

/**
 * In-process spend counters for the plugin server's Prometheus endpoint: the same amounts as the store's aggregates
 * (this node only; Prometheus sums the nodes). `kong_ai_llm_cost_total` keeps the name and labels of Kong's own AI
 * metric where they overlap. Series are capped so that client-chosen tag values cannot grow memory without bound.
 */
interface Series {
  labels: Record<string, string>;
  microUsd: number;
  requests: number;
}

const MAX_SERIES = 5_000;
const series = new Map<string, Series>();
let overflowMicroUsd = 0;
let rejected = 0;

export function recordCost(a: Attribution, microUsd: number): void {
  const labels: Record<string, string> = { ai_provider: a.provider, ai_model: a.model, consumer: a.consumer, route: a.route };
  for (const [k, v] of Object.entries(a.tags)) labels[`tag_${k.replace(/-/g, '_')}`] = v;
  const key = JSON.stringify(labels);
  let s = series.get(key);
  if (!s) {
    if (series.size >= MAX_SERIES) {
      overflowMicroUsd += microUsd;
      return;
    }
    s = { labels, microUsd: 0, requests: 0 };
    series.set(key, s);
  }
  s.microUsd += microUsd;
  s.requests += 1;
}

export function recordBudgetRejection(): void {
  rejected += 1;
}

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (labels: Record<string, string>) =>
  `{${Object.entries(labels)
    .map(([k, v]) => `${k}="${escape(v)}"`)
    .join(',')}}`;

/** Prometheus text exposition of the cost metrics (the lead's metrics endpoint appends it). */
export function costMetricsText(): string {
  const lines = [
    // kong_ai_llm_cost_total (Kong's series) is derived from usage events by the runtime's metrics
    '# HELP llm_cost_usd_total LLM spend in USD by attribution (consumer, team tags, model).',
    '# TYPE llm_cost_usd_total counter',
    ...[...series.values()].map((s) => `llm_cost_usd_total${labelText(s.labels)} ${s.microUsd / 1e6}`),
    '# HELP llm_cost_requests_total Requests priced by llm-cost-attribution.',
    '# TYPE llm_cost_requests_total counter',
    ...[...series.values()].map((s) => `llm_cost_requests_total${labelText(s.labels)} ${s.requests}`),
    '# HELP llm_cost_unlabelled_usd_total Spend of series beyond the series cap.',
    '# TYPE llm_cost_unlabelled_usd_total counter',
    `llm_cost_unlabelled_usd_total ${overflowMicroUsd / 1e6}`,
    '# HELP llm_cost_budget_rejections_total Requests refused by a budget.',
    '# TYPE llm_cost_budget_rejections_total counter',
    `llm_cost_budget_rejections_total ${rejected}`,
  ];
  const hooks = webhookStats();
  const sum = (k: keyof (typeof hooks)[number]) => hooks.reduce((a, s) => a + s[k], 0);
  lines.push(
    '# TYPE llm_cost_alerts_delivered_total counter',
    `llm_cost_alerts_delivered_total ${sum('delivered')}`,
    '# TYPE llm_cost_alerts_dropped_total counter',
    `llm_cost_alerts_dropped_total{reason="queue_full"} ${sum('droppedQueueFull')}`,
    `llm_cost_alerts_dropped_total{reason="retries_exhausted"} ${sum('droppedAfterRetries')}`,
    '# TYPE llm_cost_alerts_queued gauge',
    `llm_cost_alerts_queued ${sum('queued')}`,
  );
  return `${lines.join('\n')}\n`;
}

export function resetCostMetrics(): void {
  series.clear();
  overflowMicroUsd = 0;
  rejected = 0;
}
