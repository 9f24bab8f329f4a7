import { LuaError, luaType } from '../lua';
import { checkPhase, PHASES, requireRequestContext, type PdkContext, type PdkFunction } from './context';

/** ngx.decode_args: `a=1&a=2&b&c=` → { a: ['1','2'], b: true, c: '' } (at most `max` arguments). */
export function decodeArgs(query: string, max = 100): Record<string, string | true | (string | true)[]> {
  const out: Record<string, string | true | (string | true)[]> = {};
  let count = 0;
  for (const part of query.split('&')) {
    if (part === '') continue;
    if (count++ >= max) break;
    const eq = part.indexOf('=');
    const key = unescapeArg(eq >= 0 ? part.slice(0, eq) : part);
    if (key === '') continue;
    const value: string | true = eq >= 0 ? unescapeArg(part.slice(eq + 1)) : true;
    const prev = out[key];
    if (prev === undefined) out[key] = value;
    else out[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

function unescapeArg(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s.replace(/\+/g, ' ');
  }
}

/** kong.tools.uri normalize(path, merge_slashes): decode unreserved escapes, drop dot segments, merge slashes. */
export function normalizePath(path: string): string {
  const decoded = path.replace(/%([0-9a-fA-F]{2})/g, (m, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(ch) ? ch : m.toUpperCase();
  });
  const merged = decoded.replace(/\/{2,}/g, '/');
  const out: string[] = [];
  const segments = merged.split('/');
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (seg === '.') {
      if (i === segments.length - 1) out.push('');
    } else if (seg === '..') {
      if (out.length > 1) out.pop();
      if (i === segments.length - 1) out.push('');
    } else out.push(seg);
  }
  const result = out.join('/');
  return result.startsWith('/') ? result : `/${result}`;
}

function getHeader(ctx: PdkContext, name: unknown): unknown {
  checkPhase(ctx, PHASES.request);
  if (typeof name !== 'string') throw new LuaError('header name must be a string');
  requireRequestContext(ctx);
  // nginx joins repeated headers in $http_*; Kong then falls back to the first value
  return ctx.req.headers.get(name.replace(/_/g, '-'));
}

function getHeaders(ctx: PdkContext, max: unknown): unknown {
  checkPhase(ctx, PHASES.request);
  if (max !== null && max !== undefined) {
    if (typeof max !== 'number') throw new LuaError('max_headers must be a number');
    if (max < 1) throw new LuaError('max_headers must be >= 1');
    if (max > 1000) throw new LuaError('max_headers must be <= 1000');
  }
  requireRequestContext(ctx);
  return ctx.req.headers.toKongTable(typeof max === 'number' ? max : 100);
}

function getQuery(ctx: PdkContext, max: unknown): unknown {
  checkPhase(ctx, PHASES.request);
  if (max !== null && max !== undefined && typeof max !== 'number') throw new LuaError('max_args must be a number');
  requireRequestContext(ctx);
  return decodeArgs(ctx.req.args, typeof max === 'number' ? max : 100);
}

function getRawBody(ctx: PdkContext, maxFileSize: unknown): unknown {
  checkPhase(ctx, PHASES.beforeContent);
  requireRequestContext(ctx);
  const body = ctx.req.body;
  if (body.length === 0) return '';
  if (body.length <= ctx.env.clientBodyBufferSize) return body;
  // the body was spooled to a file: readable only with max_allowed_file_size (Kong >= 3.8)
  if (typeof maxFileSize !== 'number' || maxFileSize < 0) return null;
  if (maxFileSize > 0 && body.length > maxFileSize) return null;
  return body;
}

function getBody(ctx: PdkContext, mimetype: unknown, _maxArgs: unknown, maxFileSize: unknown): unknown {
  checkPhase(ctx, PHASES.beforeContent);
  requireRequestContext(ctx);
  const contentType = (typeof mimetype === 'string' ? mimetype : ctx.req.headers.get('content-type'))?.toLowerCase();
  if (!contentType) return null;
  const base = contentType.split(';')[0];
  if (base.startsWith('application/x-www-form-urlencoded')) return decodeArgs(ctx.req.body.toString('utf8'));
  if (base.startsWith('application/json')) {
    const raw = getRawBody(ctx, maxFileSize);
    if (raw === null) return null;
    try {
      const json: unknown = JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw));
      return luaType(json) === 'table' ? json : null;
    } catch {
      return null;
    }
  }
  return null; // multipart/form-data is not emulated; other types: nil, "unsupported content type"
}

export const requestPdk: Record<string, PdkFunction> = {
  'kong.request.get_header': getHeader,
  'kong.request.get_headers': getHeaders,
  'kong.request.get_query': getQuery,
  'kong.request.get_query_arg': (ctx, name) => {
    if (typeof name !== 'string') throw new LuaError('query argument name must be a string');
    const v = (getQuery(ctx, undefined) as Record<string, unknown>)[name];
    return Array.isArray(v) ? v[0] : v;
  },
  'kong.request.get_raw_query': (ctx) => (checkPhase(ctx, PHASES.request), requireRequestContext(ctx), ctx.req.args),
  'kong.request.get_method': (ctx) => (checkPhase(ctx, PHASES.request), requireRequestContext(ctx), ctx.req.method),
  'kong.request.get_raw_path': (ctx) => (checkPhase(ctx, PHASES.request), requireRequestContext(ctx), ctx.req.rawPath),
  'kong.request.get_path': (ctx) => (checkPhase(ctx, PHASES.request), requireRequestContext(ctx), normalizePath(ctx.req.rawPath)),
  'kong.request.get_path_with_query': (ctx) => (checkPhase(ctx, PHASES.request), requireRequestContext(ctx), ctx.req.requestUri),
  'kong.request.get_scheme': (ctx) => (checkPhase(ctx, PHASES.request), requireRequestContext(ctx), ctx.req.scheme),
  'kong.request.get_host': (ctx) => (checkPhase(ctx, PHASES.request), requireRequestContext(ctx), ctx.req.host),
  'kong.request.get_port': (ctx) => (requireRequestContext(ctx), ctx.req.serverPort),
  'kong.request.get_forwarded_scheme': (ctx) => (checkPhase(ctx, PHASES.request), requireRequestContext(ctx), ctx.req.scheme),
  'kong.request.get_forwarded_host': (ctx) => (checkPhase(ctx, PHASES.request), requireRequestContext(ctx), ctx.req.host),
  'kong.request.get_forwarded_port': (ctx) => (checkPhase(ctx, PHASES.request), requireRequestContext(ctx), ctx.req.serverPort),
  'kong.request.get_http_version': (ctx) => (checkPhase(ctx, PHASES.request), requireRequestContext(ctx), 1.1),
  'kong.request.get_start_time': (ctx) => (checkPhase(ctx, PHASES.request), ctx.req.startedAtMs),
  'kong.request.get_raw_body': getRawBody,
  'kong.request.get_body': getBody,
};
