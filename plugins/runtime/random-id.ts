import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let used = POOL_BYTES;

/**
 * `bytes` bytes from the operating system's CSPRNG, as base64url (or hex) text. Draws from a pooled buffer refilled
 * 4 KB at a time: one `randomBytes` call per id costs a syscall on every request (tickets, context ids, answer ids).
 */
export function randomId(bytes: number, encoding: 'base64url' | 'hex' = 'base64url'): string {
  if (bytes > POOL_BYTES) throw new RangeError(`randomId takes at most ${POOL_BYTES} bytes`);
  if (used + bytes > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const id = pool.toString(encoding, used, used + bytes);
  used += bytes;
  return id;
}
