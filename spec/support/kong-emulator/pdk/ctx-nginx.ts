import { LuaError } from '../lua';
import { requireRequestContext, type PdkContext, type PdkFunction } from './context';

/** ngx.ctx as a plugin may read it: the emulator's bag plus the fields Kong itself keeps there. */
function ngxCtxOf(ctx: PdkContext): Record<string, unknown> {
  if (ctx.saved) return ctx.saved.ngxCtx;
  return liveNgxCtx(ctx);
}

export function liveNgxCtx(ctx: Pick<PdkContext, 'req' | 'phase' | 'plugin'>): Record<string, unknown> {
  const r = ctx.req;
  return Object.assign(r.ngxCtx, {
    route: r.route,
    service: r.service,
    workspace: r.workspace,
    authenticated_consumer: r.authenticatedConsumer,
    authenticated_credential: r.authenticatedCredential,
    plugin_id: ctx.plugin.id,
    KONG_PHASE: ctx.phase,
    KONG_PROCESSING_START: r.startedAtMs,
  });
}

function nginxVar(ctx: PdkContext, name: unknown): unknown {
  if (typeof name !== 'string') throw new LuaError('bad argument #1 to \'?\' (string expected)');
  requireRequestContext(ctx);
  const r = ctx.req;
  if (name.startsWith('http_')) return r.headers.getAll(name.slice(5).replace(/_/g, '-')).join(', ') || undefined;
  const vars: Record<string, unknown> = {
    request_uri: r.requestUri,
    uri: r.rawPath,
    args: r.args === '' ? undefined : r.args,
    is_args: r.args === '' ? '' : '?',
    host: r.host,
    scheme: r.scheme,
    request_method: r.method,
    remote_addr: r.client.ip,
    remote_port: String(r.client.port),
    realip_remote_addr: r.client.ip,
    server_port: String(r.serverPort),
    server_addr: '127.0.0.1',
    request_id: r.id,
    kong_request_id: r.id,
    request_length: String(r.requestLength),
    request_time: (r.elapsedMs() / 1000).toFixed(3),
    upstream_uri: r.upstream.uri,
    upstream_scheme: r.upstream.scheme,
    upstream_host: r.upstream.hostHeader,
    upstream_status: r.upstreamStatus,
    content_type: r.headers.get('content-type'),
    content_length: r.headers.get('content-length'),
    hostname: 'kong-emulator',
  };
  return vars[name];
}

export const ctxNginxPdk: Record<string, PdkFunction> = {
  'kong.ctx.shared.get': (ctx, key) => (ctx.saved ? ctx.saved.ctxShared : ctx.req.ctxShared)[String(key)],
  'kong.ctx.shared.set': (ctx, key, value) => {
    (ctx.saved ? ctx.saved.ctxShared : ctx.req.ctxShared)[String(key)] = value ?? undefined;
    return null;
  },
  'kong.nginx.get_ctx': (ctx, key) => ngxCtxOf(ctx)[String(key)],
  'kong.nginx.set_ctx': (ctx, key, value) => {
    (ctx.saved ? ctx.saved.ngxCtx : ctx.req.ngxCtx)[String(key)] = value ?? undefined;
    return null;
  },
  'kong.nginx.req_start_time': (ctx) => (ctx.saved ? ctx.saved.reqStartTime : ctx.req.startedAtMs / 1000),
  'kong.nginx.get_var': nginxVar,
  'kong.nginx.get_subsystem': () => 'http',
  'kong.nginx.get_tls1_version_str': (ctx) => (requireRequestContext(ctx), null),
};
