import { cjsonEncode, isPlainObject, LuaError, luaString, luaType } from '../lua';
import { headerValues, validateHeader, validateHeaders } from '../exit';
import { checkPhase, PHASES, requireRequestContext, type PdkContext, type PdkFunction } from './context';
import { decodeArgs } from './request';

const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'MKCOL', 'COPY', 'MOVE', 'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK', 'PATCH', 'TRACE'];

/** kong.tools.uri escape: percent-encode what is not allowed in a URI path. */
export function escapeUri(path: string): string {
  return path.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/g, (ch) =>
    [...Buffer.from(ch)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

/** ngx.encode_args with Kong's ordering (keys sorted; arrays repeat the key; true → bare key). */
export function encodeArgs(args: Record<string, unknown>): string {
  const parts: string[] = [];
  const enc = (s: string) => encodeURIComponent(s);
  for (const key of Object.keys(args).sort()) {
    const value = args[key];
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v === true) parts.push(enc(key));
      else if (v === false || v === null || v === undefined) continue;
      else parts.push(`${enc(key)}=${enc(luaString(v) ?? String(v))}`);
    }
  }
  return parts.join('&');
}

function setRequestHeader(ctx: PdkContext, name: unknown, value: unknown, add: boolean): null {
  checkPhase(ctx, PHASES.accessAndRewrite);
  validateHeader(name, value);
  const header = String(name);
  const values = headerValues(value);
  if (header.toLowerCase() === 'host') ctx.req.upstream.hostHeader = values[0];
  else if (add) ctx.req.upstream.headers.add(header, values);
  else ctx.req.upstream.headers.set(header, values);
  return null;
}

function serviceResponseOf(ctx: PdkContext) {
  checkPhase(ctx, PHASES.serviceResponse);
  const res = ctx.req.serviceResponse;
  if (!res) throw new LuaError('attempt to index a nil value (service response is not buffered)');
  return res;
}

export const servicePdk: Record<string, PdkFunction> = {
  'kong.service.set_target': (ctx, host, port) => {
    checkPhase(ctx, PHASES.setTarget);
    if (typeof host !== 'string') throw new LuaError('host must be a string');
    if (typeof port !== 'number' || !Number.isInteger(port)) throw new LuaError('port must be an integer');
    if (port < 0 || port > 65535) throw new LuaError(`port must be an integer between 0 and 65535: given ${port}`);
    ctx.req.upstream.hostHeader = host;
    ctx.req.upstream.host = host;
    ctx.req.upstream.port = port;
    return null;
  },
  'kong.service.set_upstream': (ctx, host) => {
    checkPhase(ctx, PHASES.access);
    if (typeof host !== 'string') throw new LuaError('host must be a string');
    return null; // upstream entities are not emulated: (nil, "could not find an Upstream named ...")
  },

  'kong.service.request.set_scheme': (ctx, scheme) => {
    checkPhase(ctx, PHASES.accessAndRewrite);
    if (typeof scheme !== 'string') throw new LuaError('scheme must be a string');
    if (scheme !== 'http' && scheme !== 'https') throw new LuaError(`invalid scheme: ${scheme}`);
    ctx.req.upstream.scheme = scheme;
    return null;
  },
  'kong.service.request.set_path': (ctx, path) => {
    checkPhase(ctx, PHASES.accessAndRewrite);
    if (typeof path !== 'string') throw new LuaError('path must be a string');
    if (!path.startsWith('/')) throw new LuaError('path must start with /');
    ctx.req.upstream.uri = escapeUri(path);
    return null;
  },
  'kong.service.request.set_raw_query': (ctx, query) => {
    checkPhase(ctx, PHASES.accessAndRewrite);
    if (typeof query !== 'string') throw new LuaError('query must be a string');
    ctx.req.args = query;
    return null;
  },
  'kong.service.request.set_query': (ctx, args) => {
    checkPhase(ctx, PHASES.accessAndRewrite);
    if (luaType(args) !== 'table') throw new LuaError('args must be a table');
    ctx.req.args = encodeArgs(Array.isArray(args) ? {} : (args as Record<string, unknown>));
    return null;
  },
  'kong.service.request.clear_query_arg': (ctx, name) => {
    checkPhase(ctx, PHASES.accessAndRewrite);
    if (typeof name !== 'string') throw new LuaError('query argument name must be a string');
    const args = decodeArgs(ctx.req.args, 1000);
    if (name in args) {
      delete args[name];
      ctx.req.args = encodeArgs(args);
    }
    return null;
  },
  'kong.service.request.set_method': (ctx, method) => {
    checkPhase(ctx, PHASES.accessAndRewrite);
    if (typeof method !== 'string') throw new LuaError('method must be a string');
    if (!METHODS.includes(method)) throw new LuaError(`invalid method: ${method}`);
    ctx.req.upstream.method = method;
    return null;
  },
  'kong.service.request.set_header': (ctx, name, value) => setRequestHeader(ctx, name, value, false),
  'kong.service.request.add_header': (ctx, name, value) => setRequestHeader(ctx, name, value, true),
  'kong.service.request.clear_header': (ctx, name) => {
    checkPhase(ctx, PHASES.accessAndRewrite);
    if (typeof name !== 'string') throw new LuaError('header must be a string');
    if (name.toLowerCase() === 'host') ctx.req.upstream.hostHeader = undefined;
    ctx.req.upstream.headers.delete(name);
    return null;
  },
  'kong.service.request.set_headers': (ctx, headers) => {
    checkPhase(ctx, PHASES.accessAndRewrite);
    if (luaType(headers) !== 'table') throw new LuaError('headers must be a table');
    for (const [name, value] of Object.entries(validateHeaders(headers))) setRequestHeader(ctx, name, value, false);
    return null;
  },
  'kong.service.request.set_raw_body': (ctx, body) => {
    checkPhase(ctx, PHASES.accessAndRewrite);
    const text = body instanceof Uint8Array ? Buffer.from(body) : typeof body === 'string' ? Buffer.from(body) : undefined;
    if (!text) throw new LuaError('body must be a string');
    ctx.req.upstream.body = text;
    return null;
  },
  'kong.service.request.set_body': (ctx, args, mime) => {
    checkPhase(ctx, PHASES.accessAndRewrite);
    if (luaType(args) !== 'table') throw new LuaError('args must be a table');
    const type = (typeof mime === 'string' ? mime : ctx.req.upstream.headers.get('content-type') ?? '').split(';')[0].toLowerCase();
    if (type === 'application/json') ctx.req.upstream.body = Buffer.from(cjsonEncode(args));
    else if (type === 'application/x-www-form-urlencoded') {
      ctx.req.upstream.body = Buffer.from(encodeArgs(isPlainObject(args) ? args : {}));
    } else throw new LuaError(`unsupported content type ${type}`);
    if (typeof mime === 'string') ctx.req.upstream.headers.set('Content-Type', mime);
    return null;
  },
  'kong.service.request.enable_buffering': (ctx) => {
    checkPhase(ctx, PHASES.accessAndRewrite);
    ctx.req.buffered = true;
    return null;
  },

  'kong.service.response.get_status': (ctx) => (requireRequestContext(ctx), serviceResponseOf(ctx).status),
  'kong.service.response.get_headers': (ctx, max) => {
    requireRequestContext(ctx);
    return serviceResponseOf(ctx).headers.toKongTable(typeof max === 'number' ? max : 100);
  },
  'kong.service.response.get_header': (ctx, name) => {
    requireRequestContext(ctx);
    if (typeof name !== 'string') throw new LuaError('header name must be a string');
    return serviceResponseOf(ctx).headers.get(name);
  },
  'kong.service.response.get_raw_body': (ctx) => {
    return serviceResponseOf(ctx).body;
  },
};
