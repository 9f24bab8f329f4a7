import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { log } from './logger';
import { attemptMetrics } from './observability/attempt-metrics';
import { onUsageEvent, type UsageEvent } from './usage-events';
import type { SinkStats } from './usage-sinks/sink';

/**
 * Prometheus metrics of the plugin-server process. Request metrics are derived from usage events, so the numbers
 * always agree with the ledger. Names and labels follow Kong's `kong_ai_llm_*` series (Prometheus plugin with
 * ai_metrics) where Kong has an equivalent, so existing dashboards work; the rest are `llm_suite_*`.
 */
export class SuiteMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter;
  private readonly tokens: Counter;
  private readonly cost: Counter;
  private readonly providerLatency: Histogram;
  private readonly ttft: Histogram;
  private readonly statuses: Counter;
  private readonly decisions: Counter;
  private readonly piiEntities: Counter;
  readonly relayRejections: Counter;
  private readonly unsubscribe: () => void;
  private readonly recordAttempts: (e: UsageEvent) => void;

  /** Prometheus text of plugins that keep their own series (appended to the exposition). */
  private readonly extraTexts: (() => string)[];

  constructor(
    relayRejections: () => Record<string, number> = () => ({}),
    extraTexts: (() => string)[] = [],
    usageSinks: () => Record<string, SinkStats> = () => ({}),
  ) {
    this.extraTexts = extraTexts;
    collectDefaultMetrics({ register: this.registry, prefix: 'llm_suite_process_' });
    const aiLabels = ['ai_provider', 'ai_model', 'cache_status', 'vector_db', 'embeddings_provider', 'embeddings_model', 'workspace'];
    this.requests = new Counter({ name: 'kong_ai_llm_requests_total', help: 'AI requests handled by the LLM plugin suite', labelNames: aiLabels, registers: [this.registry] });
    this.tokens = new Counter({
      name: 'kong_ai_llm_tokens_total',
      help: 'Tokens used by AI requests, by type',
      labelNames: [...aiLabels, 'token_type'],
      registers: [this.registry],
    });
    this.cost = new Counter({ name: 'kong_ai_llm_cost_total', help: 'Cost of AI requests in USD', labelNames: aiLabels, registers: [this.registry] });
    this.providerLatency = new Histogram({
      name: 'kong_ai_llm_provider_latency_ms',
      help: 'Latency of the provider call in milliseconds',
      labelNames: aiLabels,
      buckets: [25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000],
      registers: [this.registry],
    });
    this.ttft = new Histogram({
      name: 'llm_suite_time_to_first_token_ms',
      help: 'Time from the request reaching the relay to the first byte of the answer, in milliseconds',
      labelNames: ['ai_provider', 'ai_model', 'stream'],
      buckets: [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers: [this.registry],
    });
    this.statuses = new Counter({
      name: 'llm_suite_requests_total',
      help: 'Requests through the relay by API, status and the stage that answered',
      labelNames: ['api', 'status', 'answered_by', 'error_code'],
      registers: [this.registry],
    });
    this.decisions = new Counter({
      name: 'llm_suite_policy_decisions_total',
      help: 'Decisions of the limiting plugins (token limits, budgets) by plugin, decision and the rule that decided',
      labelNames: ['plugin', 'decision', 'rule'],
      registers: [this.registry],
    });
    this.piiEntities = new Counter({
      name: 'llm_suite_pii_entities_total',
      help: 'PII and secrets found by llm-pii-guard, by type, action and where (request or answer); never values',
      labelNames: ['type', 'action', 'where'],
      registers: [this.registry],
    });
    this.relayRejections = new Counter({
      name: 'llm_suite_relay_rejections_total',
      help: 'Requests refused by the relay for a missing, unknown, reused or expired ticket',
      labelNames: ['reason'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [reason, count] of Object.entries(relayRejections())) this.inc({ reason }, count);
      },
    });
    registerUsageSinkMetrics(this.registry, usageSinks);
    this.recordAttempts = attemptMetrics(this.registry);
    this.unsubscribe = onUsageEvent((e) => this.record(e));
  }

  record(e: UsageEvent): void {
    const labels = {
      ai_provider: e.provider ?? '',
      ai_model: e.model ?? '',
      cache_status: String((e.cache as { status?: string } | undefined)?.status ?? ''),
      vector_db: '',
      embeddings_provider: '',
      embeddings_model: '',
      workspace: 'default',
    };
    this.statuses.inc({ api: e.api, status: String(e.status), answered_by: e.answered_by ?? '', error_code: e.error_code ?? '' });
    const pii = e.pii as { by_type?: Record<string, Record<string, number>>; output?: { detected?: Record<string, number>; action?: string } } | undefined;
    for (const [type, byAction] of Object.entries(pii?.by_type ?? {})) {
      for (const [action, n] of Object.entries(byAction)) this.piiEntities.inc({ type, action, where: 'request' }, n);
    }
    for (const [type, n] of Object.entries(pii?.output?.detected ?? {})) this.piiEntities.inc({ type, action: pii?.output?.action ?? '', where: 'answer' }, n);
    for (const plugin of POLICY_ANNOTATIONS) {
      const a = e[plugin] as { decision?: unknown; rejected_by?: unknown; rejected_by_budget?: unknown } | undefined;
      if (!a) continue;
      const rule = typeof a.rejected_by === 'string' ? a.rejected_by : typeof a.rejected_by_budget === 'string' ? a.rejected_by_budget : '';
      const decision = typeof a.decision === 'string' ? a.decision : rule ? 'rejected' : 'allowed';
      this.decisions.inc({ plugin, decision, rule });
    }
    this.recordAttempts(e);
    if (!e.provider) return;
    this.requests.inc(labels);
    if (e.usage) {
      this.tokens.inc({ ...labels, token_type: 'prompt_tokens' }, e.usage.prompt_tokens);
      this.tokens.inc({ ...labels, token_type: 'completion_tokens' }, e.usage.completion_tokens);
      this.tokens.inc({ ...labels, token_type: 'total_tokens' }, e.usage.total_tokens);
    }
    const micro = (e.cost as { micro_usd?: unknown } | undefined)?.micro_usd;
    if (typeof micro === 'number' && micro > 0) this.cost.inc(labels, micro / 1e6);
    if (!e.answered_by && e.status > 0 && e.status < 400) this.providerLatency.observe(labels, e.latency_ms);
    if (e.ttft_ms !== undefined) this.ttft.observe({ ai_provider: labels.ai_provider, ai_model: labels.ai_model, stream: String(e.stream) }, e.ttft_ms);
  }

  async exposition(): Promise<string> {
    return [await this.registry.metrics(), ...this.extraTexts.map((text) => text())].join('');
  }

  close(): void {
    this.unsubscribe();
    this.registry.clear();
  }
}

/** The usage sinks' own counts, read at each scrape. */
function registerUsageSinkMetrics(registry: Registry, usageSinks: () => Record<string, SinkStats>): void {
  new Counter({
    name: 'llm_suite_usage_events_total',
    help: 'Usage events handled by each sink, by outcome (delivered, dropped)',
    labelNames: ['sink', 'outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [sink, s] of Object.entries(usageSinks())) {
        this.inc({ sink, outcome: 'delivered' }, s.delivered);
        this.inc({ sink, outcome: 'dropped' }, s.dropped);
      }
    },
  });
  new Counter({
    name: 'llm_suite_usage_sink_failures_total',
    help: 'Failed delivery attempts of each usage sink (each one retried)',
    labelNames: ['sink'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [sink, s] of Object.entries(usageSinks())) this.inc({ sink }, s.failures);
    },
  });
  new Gauge({
    name: 'llm_suite_usage_events_queued',
    help: 'Usage events waiting in memory for delivery, by sink',
    labelNames: ['sink'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [sink, s] of Object.entries(usageSinks())) this.set({ sink }, s.queued);
    },
  });
}

/** Usage-event keys under which limiting plugins record `{decision, rejected_by?}`. */
const POLICY_ANNOTATIONS = ['pii', 'token_limit', 'cost'] as const;

/** Serves GET /metrics on the given address (loopback by default); anything else is 404. */
export async function serveMetrics(metrics: SuiteMetrics, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.exposition().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  log.info('metrics endpoint ready', { host, port: (server.address() as AddressInfo).port });
  return server;
}
