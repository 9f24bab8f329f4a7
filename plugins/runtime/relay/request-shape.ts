import { GatewayError } from './errors';
import type { Exchange } from './stage';

/**
 * The few structural facts every stage relies on, checked once before any stage runs: a request whose messages or
 * input the PII guard, the tokenizer and the translators cannot read is refused here (400 in the client's format)
 * instead of being passed on unread.
 */
export function checkRequestShape(ex: Exchange): void {
  const body = ex.body;
  if (!body) return;
  if (body.model !== undefined && (typeof body.model !== 'string' || body.model === '')) invalid('model must be a non-empty string');
  if (ex.api === 'openai-chat') {
    if (!Array.isArray(body.messages) || body.messages.length === 0) invalid('messages must be a non-empty array');
    for (const [i, message] of (body.messages as unknown[]).entries()) {
      if (typeof message !== 'object' || message === null || Array.isArray(message)) invalid(`messages[${i}] must be an object`);
      if (typeof (message as { role?: unknown }).role !== 'string') invalid(`messages[${i}].role must be a string`);
    }
  }
  if (ex.api === 'openai-embeddings' && !isEmbeddingsInput(body.input)) {
    invalid('input must be a string, an array of strings, or an array of token arrays');
  }
}

function isEmbeddingsInput(input: unknown): boolean {
  if (typeof input === 'string') return true;
  if (!Array.isArray(input) || input.length === 0) return false;
  const isTokens = (x: unknown) => Array.isArray(x) && x.length > 0 && x.every((t) => Number.isInteger(t));
  return input.every((x) => typeof x === 'string') || input.every((x) => Number.isInteger(x)) || input.every(isTokens);
}

function invalid(message: string): never {
  throw new GatewayError(400, message, 'invalid_request');
}
