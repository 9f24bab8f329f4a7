import type { ErrorFormat } from './api';

/** A failure the client sees, in its API's error envelope. Messages never contain keys, prompts or headers. */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

const OPENAI_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
};

const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

export function errorBody(format: ErrorFormat, status: number, message: string, code: string): string {
  if (format === 'anthropic') {
    return JSON.stringify({ type: 'error', error: { type: ANTHROPIC_TYPES[status] ?? 'api_error', message } });
  }
  return JSON.stringify({
    error: { message, type: OPENAI_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error'), param: null, code },
  });
}
