import { Redis } from 'ioredis';
import { withDeadline } from '../store/deadline';
import { BufferedSink, type BufferedSinkOptions } from './buffered-sink';

export interface RedisStreamSinkOptions extends BufferedSinkOptions {
  url: string;
  stream: string;
  /** XADD … MAXLEN ~ maxLen: Redis trims the stream to about this many entries. */
  maxLen: number;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
}

/** Reconnect delay: exponential from 50 ms, capped at 2 s; never gives up. */
const reconnectDelay = (attempt: number): number => Math.min(50 * 2 ** Math.min(attempt, 6), 2000);

/**
 * XADDs each usage event (field `event`: the JSON) to a Redis stream. Like the store it never waits for Redis: no
 * offline queue, bounded command time. While Redis is away, events stay in the bounded buffer and are replayed in
 * order once it is back (the retry wait ends as soon as the connection is ready).
 */
export class RedisStreamSink extends BufferedSink {
  private readonly client: Redis;

  constructor(private readonly settings: RedisStreamSinkOptions) {
    super('redis', settings);
    this.client = new Redis(settings.url, {
      connectTimeout: settings.connectTimeoutMs,
      commandTimeout: settings.commandTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: reconnectDelay,
    });
    this.client.on('error', () => undefined); // reported by the failed deliveries (logged once per outage)
    this.client.on('ready', () => this.retryNow());
  }

  protected async deliver(batch: string[]): Promise<number> {
    const pipeline = this.client.pipeline();
    for (const event of batch) pipeline.xadd(this.settings.stream, 'MAXLEN', '~', this.settings.maxLen, '*', 'event', event);
    const results = (await withDeadline(pipeline.exec(), this.settings.commandTimeoutMs)) ?? [];
    const accepted = results.findIndex(([err]) => err !== null);
    if (accepted === 0) throw results[0][0]!;
    return accepted === -1 ? results.length : accepted;
  }

  protected async closeTransport(): Promise<void> {
    try {
      await withDeadline(this.client.quit(), this.settings.commandTimeoutMs);
    } catch {
      // unreachable: dropped below anyway
    } finally {
      this.client.disconnect();
    }
  }
}
