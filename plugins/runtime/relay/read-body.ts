import type { IncomingMessage } from 'node:http';
import { GatewayError } from './errors';

/**
 * Reads a request body up to `limit` bytes. A larger body gets 413 at once; the rest of it is read and discarded
 * (not cut off by destroying the request, which could lose the 413 before the client reads it) and the connection is
 * closed after the answer.
 */
export function readBody(req: IncomingMessage, limit: number, signal: AbortSignal): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      signal.removeEventListener('abort', onAbort);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else settle(() => (req.resume(), reject(tooLarge(limit))));
    };
    const onAbort = () => settle(() => reject(new GatewayError(499, 'client closed the request', 'client_closed')));
    req.on('data', onData);
    req.once('end', () => settle(() => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size))));
    req.once('error', onAbort);
    signal.addEventListener('abort', onAbort);
  });
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError(
    413,
    `request body exceeds the gateway limit of ${limit} bytes (llm-proxy max_request_body_bytes)`,
    'request_too_large',
    { connection: 'close' },
  );
}
