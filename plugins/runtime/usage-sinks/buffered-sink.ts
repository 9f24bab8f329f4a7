import { errorMessage, log } from '../logger';
import type { UsageEvent } from '../usage-events';
import { RingBuffer } from './ring-buffer';
import type { SinkStats, UsageSink } from './sink';

export interface BufferedSinkOptions {
  /** Most events kept in memory; when full, the oldest is dropped (and counted). */
  maxBuffer: number;
  /** Most events per delivery. */
  batchSize: number;
  /** Deliver every intervalMs, or as soon as batchSize events wait; 0: deliver as soon as anything is written. */
  intervalMs: number;
  /** Retry delay: exponential from retryBaseMs, capped at retryMaxMs, with jitter. */
  retryBaseMs: number;
  retryMaxMs: number;
}

/** The receiver refused the batch for good (e.g. HTTP 400): retrying cannot help, so it is dropped. */
export class RefusedBatch extends Error {}

/** Half the exponential delay fixed, half random: spreads the retries of many processes without ever retrying at once. */
export function retryDelay(attempt: number, baseMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return cap / 2 + Math.random() * (cap / 2);
}

/**
 * A sink that keeps events (serialized) in a bounded in-memory buffer and delivers them in order, one batch at a
 * time, from a background loop; a failed batch is retried (with backoff) until it succeeds, so order is kept and
 * nothing is lost unless the buffer overflows. Delivery is at least once: a batch whose answer was lost (timeout)
 * is sent again, so receivers should drop duplicates by request_id.
 */
export abstract class BufferedSink implements UsageSink {
  private readonly buffer: RingBuffer<string>;
  private readonly counts = { delivered: 0, dropped: 0, failures: 0 };
  private readonly timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private forced = false;
  private closed = false;
  private failing = false;
  private dropping = false;
  private wake: (() => void) | undefined;
  private idleWaiters: ((drained: boolean) => void)[] = [];

  protected constructor(
    readonly name: string,
    private readonly options: BufferedSinkOptions,
  ) {
    this.buffer = new RingBuffer(options.maxBuffer);
    if (options.intervalMs > 0) {
      this.timer = setInterval(() => this.start(true), options.intervalMs);
      this.timer.unref();
    }
  }

  /** Delivers `batch` (serialized events, oldest first); resolves with how many from the front were accepted. */
  protected abstract deliver(batch: string[]): Promise<number>;
  protected abstract closeTransport(): Promise<void>;

  write(event: UsageEvent): void {
    if (this.closed) {
      this.counts.dropped++;
      return;
    }
    if (this.buffer.push(JSON.stringify(event))) {
      this.counts.dropped++;
      if (!this.dropping) {
        this.dropping = true;
        log.warn('usage_sink.dropping', { sink: this.name, max_buffer: this.options.maxBuffer });
      }
    }
    if (this.options.intervalMs === 0 || this.buffer.length >= this.options.batchSize) this.start(this.options.intervalMs === 0);
  }

  async flush(timeoutMs = 5_000): Promise<boolean> {
    if (this.buffer.length === 0 && !this.running) return true;
    const drained = new Promise<boolean>((resolve) => this.idleWaiters.push(resolve));
    this.start(true);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    return Promise.race([drained, expired]).finally(() => clearTimeout(timer));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.wake?.();
    await this.running;
    this.counts.dropped += this.buffer.clear();
    this.notifyIdle(false);
    await this.closeTransport();
  }

  stats(): SinkStats {
    return { ...this.counts, queued: this.buffer.length };
  }

  /** Ends a retry wait early (e.g. the connection is back). */
  protected retryNow(): void {
    this.wake?.();
  }

  /** `force`: send a partial batch too (the interval elapsed, or a flush). */
  private start(force: boolean): void {
    if (force) this.forced = true;
    this.running ??= this.run().finally(() => {
      this.running = undefined;
      if (this.buffer.length === 0) this.notifyIdle(true);
    });
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.closed && this.buffer.length > 0 && (this.forced || this.buffer.length >= this.options.batchSize)) {
      const batch = this.buffer.peek(this.options.batchSize);
      const last = batch[batch.length - 1].seq;
      try {
        const accepted = await this.deliver(batch.map((entry) => entry.value));
        // entries evicted while the batch was in flight are no longer in the buffer: count only those still there
        this.counts.delivered += this.buffer.removeThrough(batch[accepted - 1]?.seq ?? -1);
        if (accepted < batch.length) throw new Error(`${batch.length - accepted} of ${batch.length} events not accepted`);
        attempt = 0;
        this.recovered();
      } catch (err) {
        if (err instanceof RefusedBatch) {
          this.counts.dropped += this.buffer.removeThrough(last);
          log.warn('usage_sink.batch_refused', { sink: this.name, error: errorMessage(err) });
          continue;
        }
        this.counts.failures++;
        if (!this.failing) {
          this.failing = true;
          log.warn('usage_sink.unavailable', { sink: this.name, error: errorMessage(err) });
        }
        await this.sleep(retryDelay(attempt++, this.options.retryBaseMs, this.options.retryMaxMs));
      }
    }
    if (this.buffer.length === 0) this.forced = false;
  }

  private recovered(): void {
    if (!this.failing && !this.dropping) return;
    log.info('usage_sink.available', { sink: this.name, dropped_total: this.counts.dropped });
    this.failing = false;
    this.dropping = false;
  }

  private notifyIdle(drained: boolean): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve(drained);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      this.wake = done;
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.wake === done) self.wake = undefined;
        resolve();
      }
    });
  }
}
