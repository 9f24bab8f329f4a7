import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ForwardedRequest, RequestContext } from '../context';
import { errorMessage, log } from '../logger';
import type { PluginDefinition } from '../plugin-definition';
import { emitUsageEvent, usageEventFor } from '../usage-events';
import { detectApi, errorFormatFor } from './api';
import { GatewayError, errorBody } from './errors';
import { sanitizeHeaderValues } from './header-values';
import { checkRequestShape } from './request-shape';
import type { EarlyAnswer, Exchange, RelayStage } from './stage';
import type { TicketBook } from './tickets';
import { jsonDepthExceeds } from './json-depth';
import { readBody } from './read-body';

/** The upstream request header in which llm-proxy gives Kong the request's ticket. */
export const TICKET_HEADER = 'x-llm-relay-ticket';

export interface RelayOptions {
  host?: string;
  port?: number;
  /** Largest request body accepted when llm-proxy's config does not say (bytes). */
  defaultMaxBodyBytes?: number;
}

/**
 * The relay: Kong's upstream for every LLM request. It receives the body once, over HTTP (never through the PDK),
 * runs the stages of the plugins Kong ran for this request in priority order, and streams the answer back.
 * Loopback only; a request without a valid single-use ticket gets 403 and is counted.
 */
export class RelayServer {
  private server: http.Server | undefined;
  private readonly stageCache = new WeakMap<object, RelayStage>();
  private readonly definitions: Map<string, PluginDefinition>;
  inFlight = 0;
  address: { host: string; port: number } | undefined;

  constructor(
    private readonly tickets: TicketBook<RequestContext>,
    definitions: PluginDefinition[],
    private readonly opts: RelayOptions = {},
  ) {
    this.definitions = new Map(definitions.map((d) => [d.name, d]));
  }

  async listen(): Promise<{ host: string; port: number }> {
    // nginx refuses any header line over 8 KB (large_client_header_buffers 4 8k) before Kong proxies: 64 KB holds
    // everything Kong can forward, so Node's bare 431 never reaches a client
    const server = http.createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => void this.handle(req, res));
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => answerClientError(err, socket));
    server.keepAliveTimeout = 65_000; // longer than Kong's upstream keepalive idle time (60 s)
    server.headersTimeout = 66_000;
    server.requestTimeout = 0; // long generations are allowed; stuck ones are cut by llm-proxy's own timeouts
    this.server = server;
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    this.address = { host, port };
    return this.address;
  }

  /** Stops accepting; waits up to `graceMs` for requests in flight, then cuts them. */
  async close(graceMs = 5_000): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ticket = req.headers[TICKET_HEADER];
    const redeemed = this.tickets.redeem(typeof ticket === 'string' ? ticket : undefined);
    if (!redeemed.ok) {
      log.warn('relay request refused', { reason: `ticket ${redeemed.reason}` });
      writeAnswer(res, { status: 403, body: errorBody('openai', 403, `relay access refused: ticket ${redeemed.reason}`, 'relay_ticket_invalid') });
      return;
    }
    const ctx = redeemed.value;
    const identity = ctx.identity;
    if (!identity) {
      writeAnswer(res, { status: 500, body: errorBody('openai', 500, 'request context incomplete', 'relay_context_missing') });
      return;
    }
    this.inFlight++;
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const forwarded = forwardedRequest(req);
    const api = detectApi(forwarded.path);
    const ex: Exchange = {
      ctx,
      identity,
      forwarded,
      api,
      errorFormat: errorFormatFor(api),
      method: req.method ?? 'GET',
      headers: req.headers,
      rawBody: Buffer.alloc(0),
      body: undefined,
      startedAt: Date.now(),
      signal: abort.signal,
      responseHeaders: {},
      stream: false,
      pluginState: {},
      annotations: {},
      stages: this.stagesFor(ctx),
    };
    const { stages } = ex;
    try {
      await this.run(ex, stages, req, res);
    } catch (err) {
      this.fail(ex, res, err);
    } finally {
      for (const stage of [...stages].reverse()) {
        try {
          await stage.onComplete?.(ex);
        } catch (err) {
          log.error('stage completion failed', { plugin: stage.plugin, error: errorMessage(err) });
        }
      }
      emitUsageEvent(usageEventFor(ex));
      this.inFlight--;
    }
  }

  private async run(ex: Exchange, stages: RelayStage[], req: IncomingMessage, res: ServerResponse): Promise<void> {
    const proxy = stages.find((s) => s.respond);
    if (!proxy) throw new GatewayError(500, 'llm-proxy is not configured on this route', 'proxy_missing');
    ex.rawBody = await readBody(req, this.maxBodyBytes(ex), ex.signal);
    ex.body = parseJsonBody(ex.rawBody);
    ex.stream = ex.body?.stream === true;
    proxy.normalizeRequest?.(ex);
    checkRequestShape(ex);
    for (const stage of stages) {
      const early = await stage.onRequest?.(ex);
      if (early) {
        ex.status = early.status;
        ex.answeredBy = stage.plugin;
        writeAnswer(res, early, ex.responseHeaders);
        return;
      }
    }
    await proxy.respond!(ex, res);
  }

  private fail(ex: Exchange, res: ServerResponse, err: unknown): void {
    const gatewayError =
      err instanceof GatewayError ? err : new GatewayError(500, 'internal gateway error', 'internal_error');
    if (!(err instanceof GatewayError)) log.error('relay request failed', { api: ex.api, error: errorMessage(err) });
    ex.status = gatewayError.status;
    ex.error = { code: gatewayError.code, message: gatewayError.message };
    if (res.headersSent) {
      res.destroy(); // mid-stream: the provider-specific writer has already ended the stream if it could
      return;
    }
    writeAnswer(
      res,
      { status: gatewayError.status, body: errorBody(ex.errorFormat, gatewayError.status, gatewayError.message, gatewayError.code), headers: gatewayError.headers },
      ex.responseHeaders,
    );
  }

  private stagesFor(ctx: RequestContext): RelayStage[] {
    const stages: RelayStage[] = [];
    for (const registered of [...ctx.plugins].sort((a, b) => b.priority - a.priority)) {
      const def = this.definitions.get(registered.name);
      if (!def?.relayStage || typeof registered.config !== 'object' || registered.config === null) continue;
      let stage = this.stageCache.get(registered.config);
      if (!stage) {
        stage = def.relayStage(registered.config);
        this.stageCache.set(registered.config, stage);
      }
      stages.push(stage);
    }
    return stages;
  }

  private maxBodyBytes(ex: Exchange): number {
    const proxy = ex.ctx.plugins.find((p) => p.name === 'llm-proxy')?.config as { max_request_body_bytes?: number } | undefined;
    return proxy?.max_request_body_bytes ?? this.opts.defaultMaxBodyBytes ?? 10 * 1024 * 1024;
  }
}

function forwardedRequest(req: IncomingMessage): ForwardedRequest {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
  return {
    path: q < 0 ? url : url.slice(0, q),
    query: q < 0 ? '' : url.slice(q + 1),
    clientIp: header('x-real-ip'),
    kongRequestId: header('x-kong-request-id'),
  };
}

/**
 * Deepest JSON nesting accepted. Real requests (tool schemas included) stay far below; deeper bodies would overflow
 * the stack of JSON.stringify when llm-proxy re-serialises the body for the provider.
 */
export const MAX_JSON_DEPTH = 128;

function parseJsonBody(raw: Buffer): Record<string, unknown> | undefined {
  if (raw.length === 0) return undefined;
  const text = raw.toString('utf8');
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    throw new GatewayError(400, `request body nests JSON deeper than ${MAX_JSON_DEPTH} levels`, 'json_too_deep');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // V8's parse message quotes the body, which may hold secrets: say only what is wrong.
    throw new GatewayError(400, 'request body is not valid JSON', 'invalid_json');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GatewayError(400, 'request body must be a JSON object', 'invalid_body');
  }
  return parsed as Record<string, unknown>;
}

/**
 * A request Node's HTTP parser refused (malformed, headers too large): answered in the OpenAI error envelope (the
 * path, and so the client's API, is not known yet), then the connection is closed.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: import('node:stream').Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const message = status === 431 ? 'request headers are too large' : 'malformed HTTP request';
  const body = errorBody('openai', status, message, status === 431 ? 'headers_too_large' : 'bad_request');
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

export function writeAnswer(res: ServerResponse, answer: EarlyAnswer, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(answer.status, {
    'content-type': 'application/json',
    ...sanitizeHeaderValues({ ...extraHeaders, ...answer.headers }),
    'content-length': Buffer.byteLength(answer.body),
  });
  res.end(answer.body);
}
