export class StoreTimeoutError extends Error {
  constructor(ms: number) {
    super(`store call timed out after ${ms} ms`);
    this.name = 'StoreTimeoutError';
  }
}

/** Settles with `promise`, or rejects with StoreTimeoutError after `ms`; a late rejection of `promise` is swallowed. */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeoutError(ms)), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
