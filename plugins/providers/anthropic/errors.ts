import { isObject, str } from './json';

/** The HTTP status Anthropic uses for an error type (an `error` event inside a stream carries only the type). */
export function statusOfErrorType(type: unknown): number {
  switch (type) {
    case 'invalid_request_error':
      return 400;
    case 'authentication_error':
      return 401;
    case 'billing_error':
      return 402;
    case 'permission_error':
      return 403;
    case 'not_found_error':
      return 404;
    case 'request_too_large':
      return 413;
    case 'rate_limit_error':
      return 429;
    case 'timeout_error':
      return 504;
    case 'overloaded_error':
      return 529;
    default:
      return 500;
  }
}

/** The message of Anthropic's error envelope `{"type":"error","error":{"type","message"}}`. */
export function anthropicErrorMessage(json: unknown): string | undefined {
  const error = isObject(json) && isObject(json.error) ? json.error : undefined;
  const message = str(error?.message);
  return message || undefined;
}

/** Anthropic's 529 (overloaded) has no OpenAI equivalent: OpenAI clients get 503, which their SDKs retry too. */
export function statusForClient(status: number, format: 'openai' | 'anthropic'): number {
  return status === 529 && format === 'openai' ? 503 : status;
}
