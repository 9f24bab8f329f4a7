import http from 'node:http';
import https from 'node:https';
import { HeaderList, type KongRequest } from './request-state';

/** Request headers nginx does not forward as-is (hop-by-hop, or re-set by Kong's proxy_set_header lines). */
const HOP_BY_HOP_REQUEST = ['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer', 'content-length', 'expect'];
/** Response headers nginx drops (hop-by-hop and the X-Accel-* control headers it consumes). */
const HIDDEN_RESPONSE = [
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'trailer',
  'x-accel-expires', 'x-accel-redirect', 'x-accel-limit-rate', 'x-accel-buffering', 'x-accel-charset',
];

export interface ServiceTimeouts {
  connectTimeoutMs: number;
  readTimeoutMs: number;
  writeTimeoutMs: number;
  retries: number;
}

export type UpstreamOutcome =
  | { ok: true; response: http.IncomingMessage }
  | { ok: false; status: 502 | 504 };

export interface UpstreamAgents {
  http: http.Agent;
  https: https.Agent;
}

/** nginx keeps upstream connections alive per worker; one pair of agents per emulator. */
export function createAgents(): UpstreamAgents {
  return { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
}

/** The headers Kong sends upstream: the client's (as plugins changed them) plus its proxy_set_header values. */
export function upstreamHeaders(req: KongRequest, serverHeader: string): HeaderList {
  const out = req.upstream.headers.clone();
  for (const h of HOP_BY_HOP_REQUEST) out.delete(h);
  out.delete('host');
  const u = req.upstream;
  const defaultPort = u.scheme === 'https' ? 443 : 80;
  const host = u.hostHeader ?? (u.port === defaultPort ? u.host : `${u.host}:${u.port}`);
  const forwardedFor = req.headers.get('x-forwarded-for');
  const set = (name: string, value: string | undefined) => {
    out.delete(name);
    if (value !== undefined && value !== '') out.add(name, value);
  };
  const via = req.headers.get('via');
  set('Via', via ? `${via}, 1.1 ${serverHeader}` : `1.1 ${serverHeader}`);
  set('Host', host);
  set('Connection', 'keep-alive');
  set('X-Forwarded-For', forwardedFor ? `${forwardedFor}, ${req.client.ip}` : req.client.ip);
  set('X-Forwarded-Proto', req.scheme);
  set('X-Forwarded-Host', req.host);
  set('X-Forwarded-Port', String(req.serverPort));
  set('X-Forwarded-Path', req.rawPath);
  set('X-Forwarded-Prefix', req.routerPrefix !== undefined && req.routerPrefix !== '/' ? req.routerPrefix : undefined);
  set('X-Real-IP', req.client.ip);
  set('X-Kong-Request-Id', req.id);
  return out;
}

/** The upstream request line's URI: var.upstream_uri plus the (possibly changed) query string. */
export function upstreamPath(req: KongRequest): string {
  if (req.requestUri.endsWith('?') || req.args !== '') return `${req.upstream.uri}?${req.args}`;
  return req.upstream.uri;
}

/** Connects and sends the request, retrying connection failures `retries` times like Kong's balancer. */
export async function sendUpstream(
  req: KongRequest,
  timeouts: ServiceTimeouts,
  serverHeader: string,
  agents: UpstreamAgents,
): Promise<UpstreamOutcome> {
  const headers = upstreamHeaders(req, serverHeader);
  const body = req.upstream.body ?? req.body;
  if (body.length > 0 || req.headers.has('content-length') || req.headers.has('transfer-encoding')) {
    headers.set('Content-Length', String(body.length));
  }
  let last: UpstreamOutcome = { ok: false, status: 502 };
  for (let attempt = 0; attempt <= timeouts.retries; attempt++) {
    const started = Date.now();
    const result = await attemptOnce(req, headers, body, timeouts, agents);
    req.upstream.tries.push({
      ip: req.upstream.host,
      port: req.upstream.port,
      balancer_start: started,
      balancer_latency: 0,
      ...(result.ok ? {} : { state: 'failed', code: result.status }),
    });
    if (result.ok || !result.retryable) return result.ok ? result : { ok: false, status: result.status };
    last = { ok: false, status: result.status };
  }
  return last;
}

type Attempt = { ok: true; response: http.IncomingMessage } | { ok: false; status: 502 | 504; retryable: boolean };

function attemptOnce(
  req: KongRequest,
  headers: HeaderList,
  body: Buffer,
  timeouts: ServiceTimeouts,
  agents: UpstreamAgents,
): Promise<Attempt> {
  const u = req.upstream;
  const lib = u.scheme === 'https' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (a: Attempt) => {
      if (settled) return;
      settled = true;
      resolve(a);
    };
    const rawHeaders = headers.entries().flat();
    const request = lib.request({
      host: u.host,
      port: u.port,
      method: u.method,
      path: upstreamPath(req),
      headers: rawHeaders as unknown as http.OutgoingHttpHeaders,
      agent: u.scheme === 'https' ? agents.https : agents.http,
      rejectUnauthorized: false,
      setHost: false,
    });
    let connected = false;
    let timedOut = false;
    const connectTimer = setTimeout(() => {
      timedOut = true;
      request.destroy();
    }, timeouts.connectTimeoutMs);
    request.on('socket', (socket) => {
      const onConnected = () => {
        connected = true;
        clearTimeout(connectTimer);
      };
      if (!socket.connecting) onConnected();
      else socket.once('connect', onConnected);
    });
    // proxy_read_timeout: between two reads, for the header and for the body (then the client gets a cut body)
    request.setTimeout(timeouts.readTimeoutMs, () => {
      timedOut = true;
      request.destroy(new Error('upstream read timeout'));
    });
    request.on('response', (response) => {
      clearTimeout(connectTimer);
      finish({ ok: true, response });
    });
    request.on('error', () => {
      clearTimeout(connectTimer);
      if (timedOut) finish({ ok: false, status: 504, retryable: !connected });
      else finish({ ok: false, status: 502, retryable: !connected });
    });
    request.end(body);
  });
}

/** The upstream's response headers as nginx passes them on. */
export function downstreamHeaders(response: http.IncomingMessage): HeaderList {
  const list = HeaderList.fromRaw(response.rawHeaders);
  for (const h of HIDDEN_RESPONSE) list.delete(h);
  return list;
}

/** nginx buffers proxied responses (proxy_buffering on): an SSE stream reaches the client only at its end, unless
 * the upstream opted out with `X-Accel-Buffering: no`. */
export function mustBufferResponse(response: http.IncomingMessage): boolean {
  const type = String(response.headers['content-type'] ?? '').toLowerCase();
  const accel = String(response.headers['x-accel-buffering'] ?? '').toLowerCase();
  return type.startsWith('text/event-stream') && accel !== 'no';
}
