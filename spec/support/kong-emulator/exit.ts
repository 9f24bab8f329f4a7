import { cjsonEncode, isPlainObject, LuaError, luaString, luaToString, luaType } from './lua';
import { defaultErrorMessage, errorBody, responseTypeFor } from './error-response';
import type { KongRequest } from './request-state';

/** checks.validate_headers: names are strings, values strings/numbers/booleans or arrays of strings. */
export function validateHeaders(headers: unknown): Record<string, unknown> {
  if (!isPlainObject(headers) && !Array.isArray(headers)) throw new LuaError('headers must be a table');
  if (Array.isArray(headers)) {
    if (headers.length === 0) return {};
    throw new LuaError('invalid header name "1": got number, expected string');
  }
  for (const [name, value] of Object.entries(headers)) validateHeader(name, value);
  return headers;
}

export function validateHeader(name: unknown, value: unknown): void {
  if (typeof name !== 'string') throw new LuaError(`invalid header name "${luaToString(name)}": got ${luaType(name)}, expected string`);
  const t = luaType(value);
  if (t === 'table') {
    for (const v of Array.isArray(value) ? value : Object.values(value as object)) {
      if (luaType(v) !== 'string') throw new LuaError(`invalid header value in array "${name}": got ${luaType(v)}, expected string`);
    }
  } else if (t !== 'string' && t !== 'number' && t !== 'boolean') {
    throw new LuaError(`invalid header value for "${name}": got ${t}, expected array of string, string, number or boolean`);
  }
}

/** checks.normalize_multi_header: "" becomes " ", scalars are tostring'ed. */
export function headerValues(value: unknown): string[] {
  const one = (v: unknown) => {
    const s = luaString(v) ?? luaToString(v);
    return s === '' ? ' ' : s;
  };
  return Array.isArray(value) ? value.map(one) : [one(value)];
}

/** kong.response.exit's `send`: JSON-encodes a table body, sets Content-Type/Length, records KONG_EXITED. */
export function produceExit(req: KongRequest, status: number, body: unknown, headers?: Record<string, unknown>): void {
  const out = req.responseHeaders.clone();
  let hasType = false;
  let hasLength = false;
  for (const [name, value] of Object.entries(headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower === 'transfer-encoding' || lower === 'transfer_encoding') continue;
    out.set(name, headerValues(value));
    if (lower === 'content-type' || lower === 'content_type') hasType = true;
    if (lower === 'content-length' || lower === 'content_length') hasLength = true;
  }
  let bytes = Buffer.alloc(0);
  if (luaType(body) === 'table') {
    bytes = Buffer.from(cjsonEncode(body));
    if (!hasType) out.set('Content-Type', 'application/json; charset=utf-8');
  } else if (body !== null && body !== undefined) {
    bytes = Buffer.from(luaString(body) ?? '');
  }
  if (!hasLength) out.set('Content-Length', String(bytes.length));
  req.exitResponse = { status, body: bytes, headers: out };
  req.status = status;
}

export function validateExitArgs(status: unknown, body: unknown, headers: unknown): void {
  if (typeof status !== 'number') throw new LuaError('code must be a number');
  if (status < 100 || status > 999) throw new LuaError('code must be a number between 100 and 999');
  if (!['nil', 'string', 'table'].includes(luaType(body))) throw new LuaError('body must be a nil, string or table');
  if (headers !== null && headers !== undefined) validateHeaders(headers);
}

/** kong.response.error: message in the format the Accept header asks for (JSON by default), with the request id. */
export function produceError(req: KongRequest, status: number, message?: unknown, headers?: Record<string, unknown>): void {
  let text = message;
  if (luaType(message) === 'table') text = cjsonEncode(message);
  const given = Object.entries(headers ?? {}).find(([k]) => k === 'Content-Type');
  const contentType = given ? headerValues(given[1])[0] : responseTypeFor(req.headers.get('accept'));
  const finalHeaders = { ...(headers ?? {}), 'Content-Type': contentType };
  const body = errorBody(contentType, text === null || text === undefined ? defaultErrorMessage(status) : luaString(text) ?? '', req.id);
  produceExit(req, status, body, finalHeaders);
}

export function validateErrorArgs(status: unknown, message: unknown, headers: unknown): void {
  if (typeof status !== 'number') throw new LuaError('code must be a number');
  if (status < 400 || status > 999) throw new LuaError('code must be a number between 400 and 999');
  if (!['nil', 'string', 'table'].includes(luaType(message))) throw new LuaError('message must be a nil, a string or a table');
  if (headers !== null && headers !== undefined) validateHeaders(headers);
}

