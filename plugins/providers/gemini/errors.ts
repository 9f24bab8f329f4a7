import { int, isObject, str, type Json } from '../anthropic/json';

/** HTTP status of a google.rpc.Code name, for errors that carry only the name (inside a stream). */
const STATUS_OF_CODE: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ABORTED: 409,
  ALREADY_EXISTS: 409,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

/** Google's error envelope `{"error":{"code","message","status"}}` (Vertex sometimes wraps it in an array). */
export function googleError(json: unknown): Json | undefined {
  const body = Array.isArray(json) ? json[0] : json;
  return isObject(body) && isObject(body.error) ? body.error : undefined;
}

export function googleErrorMessage(json: unknown): string | undefined {
  const message = str(googleError(json)?.message);
  return message || undefined;
}

/** The HTTP status of a Google error: its numeric code, else the one its status name stands for. */
export function googleErrorStatus(error: Json): number {
  const code = int(error.code);
  if (code !== undefined && code >= 400 && code < 600) return code;
  return STATUS_OF_CODE[str(error.status)] ?? 500;
}
