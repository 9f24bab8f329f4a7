import { isObject, str } from '../anthropic/json';

/**
 * The status a client is told for an exception Bedrock sends inside a stream (`:exception-type`). These are
 * Bedrock's documented HTTP statuses, except a model's stream failure (424) and timeout (408), which are the
 * gateway's upstream failing: 502 and 504.
 */
export function statusOfException(type: string): number {
  switch (type.charAt(0).toLowerCase() + type.slice(1)) {
    case 'throttlingException':
      return 429;
    case 'validationException':
      return 400;
    case 'serviceUnavailableException':
    case 'modelNotReadyException':
      return 503;
    case 'modelTimeoutException':
      return 504;
    case 'modelStreamErrorException':
      return 502;
    default:
      return 500; // internalServerException and types added later
  }
}

/** The message of Bedrock's error body `{"message": "..."}` (some services spell it `Message`). */
export function bedrockErrorMessage(json: unknown): string | undefined {
  if (!isObject(json)) return undefined;
  return str(json.message) || str(json.Message) || undefined;
}
