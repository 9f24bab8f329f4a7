import type { ErrorFormat } from '../../../plugins/runtime/relay/api';
import { CANARY } from './bodies';
import { CLIENT_KEY, UPSTREAM_ANTHROPIC_KEY, UPSTREAM_OPENAI_KEY, type FuzzAnswer } from './fuzz-relay';

const SECRETS = [UPSTREAM_OPENAI_KEY, UPSTREAM_ANTHROPIC_KEY, CLIENT_KEY];

/**
 * What every answer to bad input must satisfy: no 5xx, a refusal in the client's own error envelope with a message
 * that quotes neither a key nor the request's text, and no key anywhere in the answer. Throws with the reason.
 */
export function assertCleanAnswer(format: ErrorFormat, answer: FuzzAnswer, perRequestMs: number, allow5xx: (message: string) => boolean = () => false): void {
  const fail = (why: string) => {
    throw new Error(`${why} (HTTP ${answer.status}, ${answer.ms} ms): ${answer.text.slice(0, 300)}`);
  };
  if (answer.ms > perRequestMs) fail(`answer took longer than ${perRequestMs} ms`);
  if (answer.status >= 500 && !allow5xx(errorMessageOf(format, answer.text) ?? '')) fail('5xx for client input');
  for (const secret of SECRETS) if (answer.text.includes(secret)) fail('a key appears in the answer');
  if (answer.status < 400) return;
  const message = errorMessageOf(format, answer.text);
  if (message === undefined) fail(`rejection is not in the ${format} error envelope`);
  if (message!.includes(CANARY)) fail('the error message quotes the request body');
}

/** The message of an error body in the given envelope, or undefined when the body is not that envelope. */
export function errorMessageOf(format: ErrorFormat, text: string): string | undefined {
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const error = format === 'anthropic' ? (body?.type === 'error' ? body.error : undefined) : body?.error;
  if (typeof error !== 'object' || error === null) return undefined;
  if (typeof error.type !== 'string' || typeof error.message !== 'string' || error.message === '') return undefined;
  return error.message;
}

/** llm-pii-guard's documented fail-closed answer (503) when a huge request cannot be scanned within scan_timeout_ms. */
export const piiScanTimedOut = (message: string) => message.includes('could not be checked for personal data within the time allowed');
