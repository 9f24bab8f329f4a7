import type http from 'node:http';
import { handleEvent, type BridgeDeps } from './bridge';
import type { EntityStore } from './entities';
import { defaultErrorMessage, errorBody, responseTypeFor } from './error-response';
import { produceError, produceExit } from './exit';
import type { PluginConf } from './instances';
import { LuaError } from './lua';
import { liveNgxCtx } from './pdk/ctx-nginx';
import type { PdkContext, PdkEnvironment } from './pdk/context';
import type { PluginConfigs, RegisteredPlugin } from './plugin-registry';
import { downstreamHeaders, mustBufferResponse, sendUpstream, type UpstreamAgents } from './proxy';
import { HeaderList, type KongRequest, type Phase, type SavedForLater } from './request-state';
import type { Router } from './router';
import { serializeRequest } from './serialize';

interface Collected {
  plugin: RegisteredPlugin;
  conf: PluginConf;
}

export interface PipelineDeps {
  entities: EntityStore;
  router: Router;
  /** every loaded plugin, in Kong's priority order */
  plugins: RegisteredPlugin[];
  configs: () => PluginConfigs;
  bridge: BridgeDeps;
  env: PdkEnvironment;
  serverHeader: string;
  agents: UpstreamAgents;
  /** consumer groups take part in plugin precedence (Kong Enterprise) */
  consumerGroups: boolean;
  onLogRecord: (record: Record<string, unknown>) => void;
  trackBackground: (task: Promise<void>) => void;
}

/** One request through Kong's phases: rewrite (globals), router + access, proxy or exit, header filter, log. */
export class Pipeline {
  constructor(private readonly deps: PipelineDeps) {}

  async handle(req: KongRequest, res: http.ServerResponse): Promise<void> {
    let collected: Collected[] | undefined;
    try {
      await this.rewrite(req);
      if (!req.exitResponse) collected = await this.access(req);
      if (req.exitResponse) await this.sendExit(req, res);
      else await this.proxy(req, res, collected ?? []);
    } catch (err) {
      this.deps.env.log.write('err', (err as Error).message, { worker: req.worker.id, plugin: req.pluginName });
      if (!res.headersSent) {
        req.unexpected = true;
        errorPage(req, 500);
        await this.sendExit(req, res);
      } else res.destroy();
    }
    this.logPhase(req, collected ?? this.globalCollected(['log']));
  }

  private ctxFor(req: KongRequest, phase: Phase, plugin: RegisteredPlugin, conf: PluginConf, saved?: SavedForLater): PdkContext {
    req.phase = phase;
    req.pluginId = conf.__plugin_id;
    req.pluginName = plugin.name;
    return { req, phase, plugin: { id: conf.__plugin_id, name: plugin.name }, saved, env: this.deps.env };
  }

  private async runPlugin(req: KongRequest, phase: Phase, { plugin, conf }: Collected, saved?: SavedForLater): Promise<void> {
    const ctx = this.ctxFor(req, phase, plugin, conf, saved);
    if (plugin.bundled) await plugin.bundled.run(ctx, phase, conf);
    else if (plugin.external) await handleEvent(this.deps.bridge, ctx, plugin.external, conf, phase, [req.counter]);
  }

  private globalCollected(phases: string[]): Collected[] {
    const globals = this.deps.configs().globals();
    const out: Collected[] = [];
    for (const plugin of this.deps.plugins) {
      const found = globals.get(plugin.name);
      if (found && phases.some((p) => plugin.phases.has(p))) out.push({ plugin, conf: found.conf });
    }
    return out;
  }

  /** Global plugins' rewrite handlers; a Lua error here is nginx's 500. */
  private async rewrite(req: KongRequest): Promise<void> {
    for (const c of this.globalCollected(['rewrite'])) {
      if (!c.plugin.phases.has('rewrite')) continue;
      await this.runPlugin(req, 'rewrite', c);
      if (req.exitResponse) return;
    }
  }

  /** Router, then the collecting iterator: configs looked up per plugin with the consumer known at that point. */
  private async access(req: KongRequest): Promise<Collected[] | undefined> {
    req.phase = 'access';
    const match = this.deps.router.match(req.method, req.rawPath, req.host, req.headers);
    if (!match) {
      produceError(req, 404, 'no Route matched with those values');
      return undefined;
    }
    req.route = match.route;
    req.service = match.service;
    req.workspace = match.route.ws_id as string;
    req.routerPrefix = match.prefix;
    const service = match.service;
    req.upstream.scheme = String(service?.protocol ?? 'http');
    req.upstream.host = String(service?.host ?? '');
    req.upstream.port = Number(service?.port ?? 80);
    req.upstream.uri = match.upstreamUri;
    if (match.route.preserve_host === true) req.upstream.hostHeader = req.headers.get('host');

    const collected: Collected[] = [];
    const routeId = match.route.id as string;
    const serviceId = service?.id as string | undefined;
    let lookupFor: string | undefined;
    let configs = this.deps.configs().forRequest(routeId, serviceId, undefined, []);
    for (const plugin of this.deps.plugins) {
      const consumerId = req.authenticatedConsumer?.id as string | undefined;
      if (consumerId !== lookupFor) {
        lookupFor = consumerId;
        const groups = consumerId && this.deps.consumerGroups ? this.deps.entities.groupIdsOf(consumerId) : [];
        configs = this.deps.configs().forRequest(routeId, serviceId, consumerId, groups);
      }
      const found = configs.get(plugin.name);
      if (!found) continue;
      const entry = { plugin, conf: found.conf };
      if (plugin.phases.has('response') || plugin.phases.has('log')) collected.push(entry);
      if (plugin.phases.has('response')) req.buffered = true;
      if (!plugin.phases.has('access') || req.exitResponse) continue;
      try {
        await this.runPlugin(req, 'access', entry);
      } catch (err) {
        if (!(err instanceof LuaError)) throw err;
        this.deps.env.log.write('err', err.message, { worker: req.worker.id, plugin: plugin.name });
        req.unexpected = true;
        produceExit(req, 500, { message: 'An unexpected error occurred' });
      }
    }
    if (!service && !req.exitResponse) produceError(req, 503, 'no Service found with those values');
    return collected;
  }

  private kongHeaders(req: KongRequest, headers: HeaderList): void {
    headers.set('X-Kong-Request-Id', req.id);
  }

  private async sendExit(req: KongRequest, res: http.ServerResponse): Promise<void> {
    const exit = req.exitResponse!;
    req.responseLatency = req.elapsedMs();
    const headers = exit.headers;
    headers.set('X-Kong-Response-Latency', String(Math.round(req.responseLatency)));
    headers.set('Server', this.deps.serverHeader);
    this.kongHeaders(req, headers);
    req.status = exit.status;
    await writeWhole(res, req, exit.status, headers, exit.body);
  }

  private async proxy(req: KongRequest, res: http.ServerResponse, collected: Collected[]): Promise<void> {
    const service = req.service ?? {};
    req.proxyLatency = req.elapsedMs();
    const outcome = await sendUpstream(
      req,
      {
        connectTimeoutMs: Number(service.connect_timeout ?? 60000),
        readTimeoutMs: Number(service.read_timeout ?? 60000),
        writeTimeoutMs: Number(service.write_timeout ?? 60000),
        retries: Number(service.retries ?? 5),
      },
      this.deps.serverHeader,
      this.deps.agents,
    );
    if (!outcome.ok) {
      req.upstreamStatus = String(outcome.status);
      errorPage(req, outcome.status);
      await this.sendExit(req, res);
      return;
    }
    const upstream = outcome.response;
    req.proxied = true;
    req.waitingTime = req.elapsedMs() - req.proxyLatency;
    req.upstreamStatus = String(upstream.statusCode ?? 502);
    req.status = upstream.statusCode ?? 502;
    const headers = downstreamHeaders(upstream);
    const receiveStart = req.elapsedMs();

    if (req.buffered) {
      const body = await readAll(upstream);
      req.receiveTime = req.elapsedMs() - receiveStart;
      req.serviceResponse = { status: req.status, headers: headers.clone(), body };
      for (const c of collected) {
        if (!c.plugin.phases.has('response')) continue;
        await this.runPlugin(req, 'response', c);
        if (req.exitResponse) break;
      }
      if (req.exitResponse) {
        await this.sendExit(req, res);
        return;
      }
      this.headerFilter(req, headers, upstream);
      if (headers.has('content-length')) headers.set('Content-Length', String(body.length));
      await writeWhole(res, req, req.status, headers, body);
      return;
    }

    this.headerFilter(req, headers, upstream);
    if (mustBufferResponse(upstream)) {
      const body = await readAll(upstream).catch(() => undefined);
      req.receiveTime = req.elapsedMs() - receiveStart;
      if (!body) {
        res.destroy();
        return;
      }
      await writeWhole(res, req, req.status, headers, body);
      return;
    }
    res.writeHead(req.status, headers.entries().flat());
    res.flushHeaders();
    req.bytesSent += headerBytes(req.status, headers);
    await new Promise<void>((resolve) => {
      upstream.on('data', (chunk: Buffer) => {
        req.bytesSent += chunk.length;
        res.write(chunk);
      });
      upstream.on('end', () => res.end(() => resolve()));
      upstream.on('error', () => {
        res.destroy();
        resolve();
      });
      upstream.on('close', () => {
        if (!upstream.complete) res.destroy();
        resolve();
      });
      // proxy_ignore_client_abort off (nginx's default): a client that goes away closes the upstream connection
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
    });
    req.receiveTime = req.elapsedMs() - receiveStart;
  }

  /** Kong's header_filter for a proxied response: plugin-set headers, Via, latencies, Server, request id. */
  private headerFilter(req: KongRequest, headers: HeaderList, upstream: http.IncomingMessage): void {
    const names = new Set(req.responseHeaders.entries().map(([n]) => n.toLowerCase()));
    for (const name of names) headers.set(name, req.responseHeaders.getAll(name));
    headers.set('X-Kong-Upstream-Latency', String(Math.round(req.waitingTime ?? 0)));
    headers.set('X-Kong-Proxy-Latency', String(Math.round(req.proxyLatency ?? 0)));
    const via = upstream.headers.via;
    headers.set('Via', via ? `${String(via)}, 1.1 ${this.deps.serverHeader}` : `1.1 ${this.deps.serverHeader}`);
    if (!headers.has('server')) headers.set('Server', this.deps.serverHeader);
    this.kongHeaders(req, headers);
    // ngx.resp.get_headers() in the log phase sees what was sent: upstream headers included
    for (const [name] of headers.entries()) req.responseHeaders.set(name, headers.getAll(name));
  }

  /** The log phase: record what logging plugins would serialize, then each collected log handler in its timer. */
  private logPhase(req: KongRequest, collected: Collected[]): void {
    req.phase = 'log';
    req.requestTimeMs = req.elapsedMs();
    const escapedDots = this.deps.env.kongVersion === '3.10';
    let record: Record<string, unknown> | undefined;
    try {
      record = serializeRequest(req, escapedDots);
      this.deps.onLogRecord(record);
    } catch (err) {
      this.deps.env.log.write('err', `serialize: ${(err as Error).message}`, { worker: req.worker.id });
    }
    for (const c of collected) {
      if (!c.plugin.phases.has('log')) continue;
      const saved: SavedForLater = {
        serializeData: record ?? {},
        ngxCtx: { ...liveNgxCtx({ req, phase: 'log', plugin: { id: c.conf.__plugin_id, name: c.plugin.name } }), serialize_values: req.serializeValues },
        ctxShared: req.ctxShared,
        requestHeaders: req.headers.toKongTable(),
        responseHeaders: (req.exitResponse?.headers ?? req.responseHeaders).toKongTable(),
        responseStatus: req.status,
        reqStartTime: req.startedAtMs / 1000,
      };
      const task = Promise.resolve()
        .then(() => this.runPlugin(req, 'log', c, saved))
        .catch((err: Error) => this.deps.env.log.write('err', err.message, { worker: req.worker.id, plugin: c.plugin.name }));
      this.deps.trackBackground(task);
    }
  }
}

/** kong/error_handlers.lua: the body format follows Accept, else Content-Type, else JSON. */
function errorPage(req: KongRequest, status: number): void {
  const contentType = responseTypeFor(req.headers.get('accept') ?? req.headers.get('content-type'));
  produceExit(req, status, errorBody(contentType, defaultErrorMessage(status), req.id), { 'Content-Type': contentType });
}

function readAll(stream: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
    stream.on('close', () => {
      if (!stream.complete) reject(new Error('upstream closed the connection early'));
    });
  });
}

function headerBytes(status: number, headers: HeaderList): number {
  let n = `HTTP/1.1 ${status} \r\n`.length + 2;
  for (const [k, v] of headers.entries()) n += k.length + v.length + 4;
  return n;
}

function writeWhole(res: http.ServerResponse, req: KongRequest, status: number, headers: HeaderList, body: Buffer): Promise<void> {
  if (!headers.has('content-length') && !headers.has('transfer-encoding')) headers.set('Content-Length', String(body.length));
  req.bytesSent += headerBytes(status, headers) + body.length;
  return new Promise((resolve) => {
    res.writeHead(status, headers.entries().flat());
    res.end(req.method === 'HEAD' ? undefined : body, () => resolve());
    res.once('close', () => resolve());
  });
}
