import { onUsageEvent, type UsageEvent } from '../usage-events';
import { RingBuffer } from '../usage-sinks/ring-buffer';
import { summarizeUsage, type UsageSummary } from './usage-summary';

/**
 * The most recent usage events, in memory, for the built-in dashboard: at most `capacity` of them and none older than
 * `windowMs` (memory stays bounded whatever the traffic).
 */
export class RecentUsage {
  private readonly buffer: RingBuffer<UsageEvent>;
  private readonly unsubscribe: () => void;

  constructor(
    readonly capacity = 10_000,
    readonly windowMs = 60 * 60_000,
  ) {
    this.buffer = new RingBuffer(capacity);
    this.unsubscribe = onUsageEvent((e) => this.buffer.push(e));
  }

  events(now = Date.now()): UsageEvent[] {
    const all = this.buffer.peek(this.buffer.length);
    const stale = all.filter((entry) => now - Date.parse(entry.value.time) > this.windowMs).at(-1);
    if (stale) this.buffer.removeThrough(stale.seq);
    return all.filter((entry) => !stale || entry.seq > stale.seq).map((entry) => entry.value);
  }

  summary(now = Date.now()): UsageSummary {
    return summarizeUsage(this.events(now), { capacity: this.capacity });
  }

  close(): void {
    this.unsubscribe();
    this.buffer.clear();
  }
}
