import { GatewayError } from '../../runtime/relay/errors';
import { PRIORITIES, type Priority } from './schema';

interface Waiter {
  grant: () => void;
}

/**
 * A cap on requests in flight to one target, with a bounded wait queue per priority class: a freed slot goes to the
 * oldest waiter of the highest class. A wait longer than the queue timeout, or a full queue, is a 503.
 */
export class TargetQueue {
  private active = 0;
  private readonly waiting: Record<Priority, Waiter[]> = { high: [], normal: [], low: [] };

  constructor(
    readonly key: string,
    public maxInFlight: number | undefined,
    public maxQueue: number,
  ) {}

  get inFlight(): number {
    return this.active;
  }

  depth(priority: Priority): number {
    return this.waiting[priority].length;
  }

  get queued(): number {
    return this.waiting.high.length + this.waiting.normal.length + this.waiting.low.length;
  }

  hasRoom(): boolean {
    return this.maxInFlight === undefined || this.active < this.maxInFlight;
  }

  /** Takes a slot at once, or waits for one; resolves with the function that gives it back (call it once). */
  async acquire(priority: Priority, timeoutMs: number, signal: AbortSignal): Promise<() => void> {
    if (this.hasRoom() && this.queued === 0) return this.take();
    if (this.queued >= this.maxQueue) {
      throw new GatewayError(503, `target ${this.key} is at capacity and its queue is full; retry shortly`, 'queue_full', { 'retry-after': '1' });
    }
    await new Promise<void>((resolve, reject) => {
      const list = this.waiting[priority];
      const leave = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const i = list.indexOf(waiter);
        if (i >= 0) list.splice(i, 1);
      };
      const waiter: Waiter = {
        grant: () => {
          leave();
          resolve();
        },
      };
      const timer = setTimeout(() => {
        leave();
        const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
        reject(
          new GatewayError(503, `all capacity for this model is busy: waited ${timeoutMs} ms in the queue without a free slot; retry later`, 'queue_timeout', {
            'retry-after': String(seconds),
          }),
        );
      }, timeoutMs);
      const onAbort = () => {
        leave();
        reject(new GatewayError(499, 'client closed the request', 'client_closed'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      list.push(waiter);
    });
    return this.take(true);
  }

  /** `granted`: the slot was handed over by release() and is already counted. */
  private take(granted = false): () => void {
    if (!granted) this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = PRIORITIES.map((p) => this.waiting[p]).find((list) => list.length > 0)?.[0];
      if (next) next.grant(); // the slot passes to the waiter: active stays the same
      else this.active--;
    };
  }
}

const queues = new Map<string, TargetQueue>();

/** The queue of a target, shared in the process like its breaker (limits hold across all Kong workers). */
export function queueFor(key: string, maxInFlight: number | undefined, maxQueue: number): TargetQueue {
  let queue = queues.get(key);
  if (!queue) {
    queue = new TargetQueue(key, maxInFlight, maxQueue);
    queues.set(key, queue);
  } else {
    queue.maxInFlight = maxInFlight;
    queue.maxQueue = maxQueue;
  }
  return queue;
}

export function allQueues(): TargetQueue[] {
  return [...queues.values()];
}

export function resetQueues(): void {
  queues.clear();
}
