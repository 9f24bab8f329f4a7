import { MAX_WINDOW_BUCKETS, type ReserveRequest } from './types';

/** Shared argument checks, so both implementations reject the same inputs with the same messages. */

/** A caller's bug (bad amount, ttl, repeated key): guardedStoreCall rethrows it instead of failing open/closed. */
export class StoreInputError extends RangeError {
  override name = 'StoreInputError';
}

export function assertAmount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new StoreInputError(`${name} must be a non-negative safe integer, got ${String(value)}`);
  }
}

export function assertDuration(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new StoreInputError(`${name} must be a positive integer number of milliseconds, got ${String(value)}`);
  }
}

export function assertReserveRequest(req: ReserveRequest): void {
  if (req.id === '') throw new StoreInputError('reservation id must not be empty');
  assertDuration('ttlMs', req.ttlMs);
  const seen = new Set<string>();
  req.items.forEach((item, i) => {
    assertAmount(`items[${i}].amount`, item.amount);
    assertAmount(`items[${i}].limit`, item.limit);
    assertDuration(`items[${i}].windowMs`, item.windowMs);
    if (seen.has(item.key)) throw new StoreInputError(`items[${i}].key is repeated in one reservation`);
    seen.add(item.key);
    if (item.window) assertWindow(`items[${i}].window.earlier`, item.key, item.window.earlier);
  });
}

export function assertActuals(actual: Record<string, number>): void {
  for (const [key, amount] of Object.entries(actual)) assertAmount(`actual[${JSON.stringify(key)}]`, amount);
}

function assertWindow(name: string, key: string, earlier: string[]): void {
  if (!Array.isArray(earlier) || earlier.length > MAX_WINDOW_BUCKETS) {
    throw new StoreInputError(`${name} must be an array of at most ${MAX_WINDOW_BUCKETS} keys`);
  }
  if (new Set([key, ...earlier]).size !== earlier.length + 1) {
    throw new StoreInputError(`${name} must not repeat a key nor contain the item's own key`);
  }
}
