import { randomId } from '../../runtime/random-id';

/**
 * Gemini's function calls have no ids; the OpenAI shape needs one per call, so the gateway makes them up (`call_…`).
 * Gemini 3 models also attach a `thoughtSignature` to a function call and require it back with that call in the next
 * turn. The gateway keeps no state between requests, so the signature travels inside the id the client echoes:
 * `call_<hex>.<signature in base64url>`.
 */
const SEPARATOR = '.';

export function toolCallId(thoughtSignature?: unknown): string {
  const id = `call_${randomId(12, 'hex')}`;
  if (typeof thoughtSignature !== 'string' || thoughtSignature === '') return id;
  return `${id}${SEPARATOR}${Buffer.from(thoughtSignature, 'base64').toString('base64url')}`;
}

/** The thought signature carried in a tool-call id made by {@link toolCallId}, if any. */
export function thoughtSignatureOf(id: string): string | undefined {
  const at = id.startsWith('call_') ? id.indexOf(SEPARATOR) : -1;
  if (at < 0) return undefined;
  const signature = id.slice(at + 1);
  return /^[A-Za-z0-9_-]+$/.test(signature) ? Buffer.from(signature, 'base64url').toString('base64') : undefined;
}
