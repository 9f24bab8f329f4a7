import { MemoryStore } from './memory';
import { StoreOptionsSchema, type StoreOptions } from './options';
import { RedisStore } from './redis';
import type { Store } from './types';

export { StoreOptionsSchema, RedisStoreOptionsSchema, MemoryStoreOptionsSchema } from './options';
export type { StoreOptions, RedisStoreOptions } from './options';
export type { Store, ReserveItem, ReserveRequest, ReserveResult } from './types';
export { guardedStoreCall, storeFailureCounts, resetStoreFailureCounts } from './guard';
export type { FailMode, FailureReason, Guarded } from './guard';
export { StoreTimeoutError } from './deadline';
export { StoreInputError } from './validate';
export { MemoryStore } from './memory';
export { RedisStore } from './redis';

/** Validates the options (throws a ZodError on bad ones) and builds the store; a Redis store connects in the background. */
export function createStore(options: StoreOptions): Store {
  const parsed = StoreOptionsSchema.parse(options);
  return parsed.type === 'memory' ? new MemoryStore() : new RedisStore(parsed);
}
