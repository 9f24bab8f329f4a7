import { LuaError } from '../lua';
import { headerValues, produceError, produceExit, validateErrorArgs, validateExitArgs, validateHeader, validateHeaders } from '../exit';
import { checkPhase, EventEnded, PHASES, type PdkContext, type PdkFunction } from './context';

function ensureHeadersNotSent(ctx: PdkContext): void {
  if (ctx.req.exitResponse && ctx.phase !== 'access') throw new LuaError('headers have already been sent');
}

/** The downstream response headers as ngx.resp.get_headers() shows them in the current phase. */
function currentResponseHeaders(ctx: PdkContext) {
  return ctx.req.exitResponse?.headers ?? ctx.req.responseHeaders;
}

const setHeader: PdkFunction = (ctx, name, value) => {
  checkPhase(ctx, PHASES.rewriteAccessHeader);
  ensureHeadersNotSent(ctx);
  validateHeader(name, value);
  const lower = String(name).toLowerCase();
  if (lower === 'transfer-encoding' || lower === 'transfer_encoding') return null;
  ctx.req.responseHeaders.set(String(name), headerValues(value));
  return null;
};

export const responsePdk: Record<string, PdkFunction> = {
  'kong.response.exit': (ctx, status, body, headers) => {
    checkPhase(ctx, PHASES.rewriteAccessHeader);
    ensureHeadersNotSent(ctx);
    validateExitArgs(status, body, headers);
    produceExit(ctx.req, status as number, body, (headers ?? undefined) as Record<string, unknown> | undefined);
    throw new EventEnded();
  },
  'kong.response.error': (ctx, status, message, headers) => {
    checkPhase(ctx, PHASES.rewriteAccessHeader);
    ensureHeadersNotSent(ctx);
    validateErrorArgs(status, message, headers);
    produceError(ctx.req, status as number, message, (headers ?? undefined) as Record<string, unknown> | undefined);
    throw new EventEnded();
  },
  'kong.response.set_header': setHeader,
  'kong.response.add_header': (ctx, name, value) => {
    checkPhase(ctx, PHASES.rewriteAccessHeader);
    ensureHeadersNotSent(ctx);
    validateHeader(name, value);
    ctx.req.responseHeaders.add(String(name), headerValues(value));
    return null;
  },
  'kong.response.clear_header': (ctx, name) => {
    checkPhase(ctx, PHASES.rewriteAccessHeader);
    if (typeof name !== 'string') throw new LuaError('header name must be a string');
    ctx.req.responseHeaders.delete(name);
    return null;
  },
  'kong.response.set_headers': (ctx, headers) => {
    checkPhase(ctx, PHASES.rewriteAccessHeader);
    ensureHeadersNotSent(ctx);
    for (const [name, value] of Object.entries(validateHeaders(headers))) setHeader(ctx, name, value);
    return null;
  },
  'kong.response.set_status': (ctx, status) => {
    checkPhase(ctx, PHASES.rewriteAccessHeader);
    if (typeof status !== 'number') throw new LuaError('code must be a number');
    if (status < 100 || status > 999) throw new LuaError('code must be a number between 100 and 999');
    ctx.req.status = status;
    return null;
  },
  'kong.response.get_status': (ctx) => {
    checkPhase(ctx, PHASES.headerBodyLog);
    return ctx.req.status;
  },
  'kong.response.get_headers': (ctx, max) => {
    checkPhase(ctx, PHASES.headerBodyLog);
    return currentResponseHeaders(ctx).toKongTable(typeof max === 'number' ? max : 100);
  },
  'kong.response.get_header': (ctx, name) => {
    checkPhase(ctx, PHASES.headerBodyLog);
    if (typeof name !== 'string') throw new LuaError('header name must be a string');
    return currentResponseHeaders(ctx).get(name);
  },
  'kong.response.get_source': (ctx) => {
    checkPhase(ctx, PHASES.headerBodyLog);
    return responseSource(ctx);
  },
};

export function responseSource(ctx: Pick<PdkContext, 'req'>): 'error' | 'exit' | 'service' {
  if (ctx.req.unexpected) return 'error';
  if (ctx.req.exitResponse) return 'exit';
  if (ctx.req.proxied) return 'service';
  return 'error';
}

