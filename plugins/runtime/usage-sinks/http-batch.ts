import { request } from 'undici';
import { BufferedSink, RefusedBatch, type BufferedSinkOptions } from './buffered-sink';

export interface HttpBatchSinkOptions extends BufferedSinkOptions {
  url: string;
  /** The Authorization header's value (e.g. "Bearer …"), if the receiver needs one. */
  authorization?: string;
  /** Bounds each POST from start to answer. */
  timeoutMs: number;
}

/** Statuses worth retrying besides 5xx: the receiver may accept the same batch later. */
const RETRYABLE = new Set([408, 425, 429]);

/** POSTs batches of usage events as a JSON array; retries timeouts, network errors, 5xx, 408 and 429. */
export class HttpBatchSink extends BufferedSink {
  private readonly headers: Record<string, string>;

  constructor(private readonly settings: HttpBatchSinkOptions) {
    super('http', settings);
    this.headers = { 'content-type': 'application/json', 'user-agent': 'kong-llm-usage-sink' };
    if (settings.authorization) this.headers.authorization = settings.authorization;
  }

  protected async deliver(batch: string[]): Promise<number> {
    const res = await request(this.settings.url, {
      method: 'POST',
      headers: this.headers,
      body: `[${batch.join(',')}]`,
      signal: AbortSignal.timeout(this.settings.timeoutMs),
    });
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) return batch.length;
    if (res.statusCode >= 500 || RETRYABLE.has(res.statusCode)) throw new Error(`receiver answered ${res.statusCode}`);
    throw new RefusedBatch(`receiver refused the batch with ${res.statusCode}`);
  }

  protected async closeTransport(): Promise<void> {}
}
