/**
 * Exponentially weighted moving averages of each target's latency: time to first token for streams, total time
 * otherwise (kept apart, since they are not comparable). Shared by the whole process, like the breakers.
 */
const averages = new Map<string, number>();

const slot = (key: string, stream: boolean) => `${key}\u0000${stream ? 'ttft' : 'total'}`;

export function recordLatency(key: string, stream: boolean, ms: number, alpha: number): void {
  const k = slot(key, stream);
  const previous = averages.get(k);
  averages.set(k, previous === undefined ? ms : previous + alpha * (ms - previous));
}

/** The target's average, or undefined before its first measure (such a target is tried first, to learn it). */
export function latencyOf(key: string, stream: boolean): number | undefined {
  return averages.get(slot(key, stream));
}

export function resetLatencies(): void {
  averages.clear();
}
