import type { Writable } from 'node:stream';
import type { UsageEvent } from '../usage-events';
import type { SinkStats, UsageSink } from './sink';

/** One JSON usage event a line on a stream (stdout for log shippers); the stream is the process's, never closed here. */
export class JsonLinesSink implements UsageSink {
  private delivered = 0;

  constructor(
    readonly name: string,
    private readonly out: Writable,
  ) {}

  write(event: UsageEvent): void {
    this.out.write(`${JSON.stringify(event)}\n`);
    this.delivered++;
  }

  async flush(timeoutMs = 5_000): Promise<boolean> {
    if (!this.out.writableNeedDrain) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const onDrain = () => done(true);
      const done = (drained: boolean) => {
        clearTimeout(timer);
        this.out.off('drain', onDrain);
        resolve(drained);
      };
      this.out.once('drain', onDrain);
    });
  }

  async close(): Promise<void> {}

  stats(): SinkStats {
    return { delivered: this.delivered, dropped: 0, queued: 0, failures: 0 };
  }
}
