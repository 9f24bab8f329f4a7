import { StoreTimeoutError, withDeadline } from './deadline';
import { StoreInputError } from './validate';

export type FailMode = 'open' | 'closed';
export type FailureReason = 'timeout' | 'error';
export type Guarded<T> = { ok: true; value: T } | { ok: false; reason: FailureReason; failMode: FailMode };

const failures: Record<FailureReason, number> = { timeout: 0, error: 0 };

/**
 * Runs a store call with the caller's own deadline: when the store fails or is too slow the caller gets back its
 * failMode and decides (open = let the request through, closed = refuse it). Failures are counted by reason.
 * A StoreInputError (the caller's bug, not the store's) is rethrown: it must not be hidden by failing open.
 */
export async function guardedStoreCall<T>(
  op: () => Promise<T>,
  opts: { timeoutMs: number; failMode: FailMode },
): Promise<Guarded<T>> {
  try {
    return { ok: true, value: await withDeadline(op(), opts.timeoutMs) };
  } catch (err) {
    if (err instanceof StoreInputError) throw err;
    const reason = isTimeout(err) ? 'timeout' : 'error';
    failures[reason] += 1;
    return { ok: false, reason, failMode: opts.failMode };
  }
}

/** Store failures seen by guardedStoreCall since start (or the last reset), by reason; for metrics. */
export function storeFailureCounts(): Readonly<Record<FailureReason, number>> {
  return { ...failures };
}

export function resetStoreFailureCounts(): void {
  failures.timeout = 0;
  failures.error = 0;
}

/** ioredis reports its commandTimeout as a plain Error with this message. */
function isTimeout(err: unknown): boolean {
  return err instanceof StoreTimeoutError || (err instanceof Error && err.message === 'Command timed out');
}
