import { createHmac } from 'node:crypto';
import { request } from 'undici';
import { errorMessage, log } from '../runtime/logger';

export interface WebhookSettings {
  url: string;
  secret?: string;
  timeoutMs: number;
  maxAttempts: number;
  backoffMs: number;
  maxQueue: number;
}

export interface WebhookStats {
  queued: number;
  delivered: number;
  failedAttempts: number;
  droppedQueueFull: number;
  droppedAfterRetries: number;
}

const MAX_BACKOFF_MS = 300_000;

/** Stripe-style signature: the receiver recomputes HMAC-SHA256("<t>.<body>") and rejects stale timestamps. */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * Delivers JSON alerts to one webhook, one at a time and in order, retrying each with exponential backoff. The queue
 * is bounded: when the receiver is down for long, the oldest alerts are dropped and counted, so memory stays flat.
 * Every alert carries an `id` that stays the same across retries, for the receiver to drop duplicates.
 */
export class WebhookSender {
  private readonly queue: string[] = [];
  private running = false;
  private closed = false;
  private wake: (() => void) | undefined;
  readonly stats: WebhookStats = { queued: 0, delivered: 0, failedAttempts: 0, droppedQueueFull: 0, droppedAfterRetries: 0 };

  constructor(readonly settings: WebhookSettings) {}

  send(alert: object): void {
    if (this.closed) return;
    if (this.queue.length >= this.settings.maxQueue) {
      this.queue.shift();
      this.stats.droppedQueueFull++;
      log.warn('cost.alert.dropped', { reason: 'queue_full', max_queue: this.settings.maxQueue });
    }
    this.queue.push(JSON.stringify(alert));
    this.stats.queued = this.queue.length;
    if (!this.running) void this.drain();
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Stops retrying; pending alerts are dropped. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.wake?.();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        const body = this.queue[0];
        const delivered = await this.deliverWithRetries(body);
        // the head may have been dropped meanwhile (queue full): only remove it if it is still ours
        if (this.queue[0] === body) this.queue.shift();
        this.stats.queued = this.queue.length;
        if (delivered) this.stats.delivered++;
      }
    } finally {
      this.running = false;
    }
  }

  private async deliverWithRetries(body: string): Promise<boolean> {
    for (let attempt = 1; attempt <= this.settings.maxAttempts && !this.closed; attempt++) {
      if (this.queue[0] !== body) return false; // dropped from the queue while we waited
      try {
        if (await this.post(body)) return true;
      } catch (err) {
        log.warn('cost.alert.webhook_failed', { attempt, error: errorMessage(err) });
      }
      this.stats.failedAttempts++;
      if (attempt < this.settings.maxAttempts) await this.sleep(Math.min(this.settings.backoffMs * 2 ** (attempt - 1), MAX_BACKOFF_MS));
    }
    if (!this.closed) {
      this.stats.droppedAfterRetries++;
      log.error('cost.alert.dropped', { reason: 'retries_exhausted', attempts: this.settings.maxAttempts });
    }
    return false;
  }

  private async post(body: string): Promise<boolean> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'kong-llm-cost-attribution' };
    if (this.settings.secret) headers['x-llm-signature'] = signatureHeader(this.settings.secret, body, Math.floor(Date.now() / 1000));
    const res = await request(this.settings.url, {
      method: 'POST',
      headers,
      body,
      headersTimeout: this.settings.timeoutMs,
      bodyTimeout: this.settings.timeoutMs,
    });
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) return true;
    log.warn('cost.alert.webhook_rejected', { status: res.statusCode });
    return false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      this.wake = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}

/** One sender per webhook setting for the whole process (plugin instances come and go with config changes). */
const senders = new Map<string, WebhookSender>();

export function webhookSenderFor(settings: WebhookSettings): WebhookSender {
  const key = JSON.stringify(settings);
  let sender = senders.get(key);
  if (!sender) {
    sender = new WebhookSender(settings);
    senders.set(key, sender);
  }
  return sender;
}

export function webhookStats(): WebhookStats[] {
  return [...senders.values()].map((s) => ({ ...s.stats }));
}

export function closeWebhookSenders(): void {
  for (const s of senders.values()) s.close();
  senders.clear();
}
