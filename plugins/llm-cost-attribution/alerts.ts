import { createHash } from 'node:crypto';
import { log } from '../runtime/logger';
import type { Store } from '../runtime/store/types';
import { microFromUsd, usdString } from './cost';
import type { SpikeConfig, WebhookConfig } from './schema';
import { webhookSenderFor, type WebhookSender } from './webhook';

export type AlertType = 'budget_threshold' | 'budget_exhausted' | 'spend_spike' | 'unknown_model';

/** What receivers get. `id` is stable for one condition (budget value + period + threshold): retries repeat it. */
export interface Alert {
  id: string;
  type: AlertType;
  time: string;
  message: string;
  budget?: string;
  period?: string;
  window_start?: string;
  dimensions?: Record<string, string>;
  threshold?: number;
  limit_usd?: string;
  spent_usd?: string;
  window_usd?: string;
  baseline_usd_per_window?: string;
  model?: string;
  provider?: string;
}

const MEMO_LIMIT = 10_000;

/**
 * Sends each alert condition once: the first process to increment the condition's dedupe counter in the store (to 1)
 * sends it, to the log and the webhook; everyone else (other requests, other Kong nodes) stays quiet. A local memo
 * saves the store round trip once a condition has fired.
 */
export class AlertCenter {
  private readonly fired = new Set<string>();
  private readonly webhook: WebhookSender | undefined;

  constructor(
    private readonly store: Store,
    webhook: WebhookConfig,
    private readonly sink: (a: Alert) => void = () => {},
  ) {
    this.webhook = webhook.url
      ? webhookSenderFor({
          url: webhook.url,
          secret: webhook.secret,
          timeoutMs: webhook.timeout_ms,
          maxAttempts: webhook.max_attempts,
          backoffMs: webhook.backoff_ms,
          maxQueue: webhook.max_queue,
        })
      : undefined;
  }

  async fireOnce(dedupeKey: string, ttlMs: number, alert: Omit<Alert, 'id' | 'time'>): Promise<boolean> {
    if (this.fired.has(dedupeKey)) return false;
    const count = await this.store.incrBy(`cost:a:${dedupeKey}`, 1, ttlMs);
    if (this.fired.size >= MEMO_LIMIT) this.fired.clear();
    this.fired.add(dedupeKey);
    if (count !== 1) return false;
    this.emit({ id: createHash('sha256').update(dedupeKey).digest('hex').slice(0, 32), time: new Date().toISOString(), ...alert });
    return true;
  }

  private emit(alert: Alert): void {
    const { dimensions, ...scalars } = alert;
    log.warn('cost.alert', { ...scalars, dimensions: dimensions ? JSON.stringify(dimensions) : undefined });
    this.sink(alert);
    this.webhook?.send(alert);
  }
}

/**
 * The spend-spike rule (the runaway-job case). Spend per value of `by` (a consumer by default) is counted in windows of
 * `window_seconds`. When the current window's spend reaches both `min_usd` and `factor` × the average spend of the
 * `baseline_windows` windows before it (missing windows count as $0), a `spend_spike` alert fires once for that
 * window. A consumer without history therefore alerts once it spends `min_usd` within one window. The current window
 * is partial, so the rule errs towards alerting late, never early.
 */
export class SpikeDetector {
  private readonly baselines = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly config: SpikeConfig,
    private readonly alerts: AlertCenter,
  ) {}

  async observe(value: string, microUsd: number, nowMs: number): Promise<void> {
    if (!this.config.enabled || microUsd <= 0) return;
    const size = this.config.window_seconds * 1000;
    const start = Math.floor(nowMs / size) * size;
    const ttl = size * (this.config.baseline_windows + 2);
    const keyOf = (windowStart: number) => `cost:spike:${this.config.by}:${value}:${windowStart}`;
    const current = await this.store.incrBy(keyOf(start), microUsd, ttl);
    const minMicro = microFromUsd(this.config.min_usd);
    if (current < minMicro) return;
    const baseline = await this.baseline(value, start, size, keyOf);
    if (current < this.config.factor * baseline) return;
    await this.alerts.fireOnce(`spike:${this.config.by}:${value}:${start}`, ttl, {
      type: 'spend_spike',
      message:
        `Spend spike for ${this.config.by} ${value}: $${usdString(current)} in the current ${this.config.window_seconds}s window, ` +
        `baseline $${usdString(baseline)} per window`,
      dimensions: { [this.config.by]: value },
      window_start: new Date(start).toISOString(),
      window_usd: usdString(current),
      baseline_usd_per_window: usdString(baseline),
    });
  }

  /** The previous windows do not change while this one runs: read them once per value and window. */
  private async baseline(value: string, start: number, size: number, keyOf: (s: number) => string): Promise<number> {
    const memo = `${value}\u0000${start}`;
    const known = this.baselines.get(memo);
    if (known !== undefined) return known;
    const n = this.config.baseline_windows;
    const totals = await this.store.totals(Array.from({ length: n }, (_, i) => keyOf(start - (i + 1) * size)));
    const average = Math.round(totals.reduce((a, b) => a + b, 0) / n);
    if (this.baselines.size >= MEMO_LIMIT) this.baselines.clear();
    this.baselines.set(memo, average);
    return average;
  }
}
