import { randomBytes } from 'node:crypto';
import type { RpcCounter } from './rpc-client';
import type { Worker } from './instances';

export type Phase = 'certificate' | 'rewrite' | 'access' | 'response' | 'header_filter' | 'body_filter' | 'log';

/** Ordered, case-insensitive multimap of HTTP headers (nginx keeps order and duplicates). */
export class HeaderList {
  private readonly list: [string, string][];

  constructor(entries: Iterable<[string, string]> = []) {
    this.list = [...entries];
  }

  static fromRaw(raw: string[]): HeaderList {
    const list: [string, string][] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) list.push([raw[i], raw[i + 1]]);
    return new HeaderList(list);
  }

  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    return this.list.find(([n]) => n.toLowerCase() === lower)?.[1];
  }

  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    return this.list.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  set(name: string, value: string | string[]): void {
    this.delete(name);
    for (const v of Array.isArray(value) ? value : [value]) this.list.push([name, v]);
  }

  add(name: string, value: string | string[]): void {
    for (const v of Array.isArray(value) ? value : [value]) this.list.push([name, v]);
  }

  delete(name: string): void {
    const lower = name.toLowerCase();
    for (let i = this.list.length - 1; i >= 0; i--) if (this.list[i][0].toLowerCase() === lower) this.list.splice(i, 1);
  }

  entries(): [string, string][] {
    return this.list.map(([n, v]) => [n, v]);
  }

  clone(): HeaderList {
    return new HeaderList(this.entries());
  }

  /** ngx.req.get_headers()/ngx.resp.get_headers(): lowercase names, a repeated header as an array of values. */
  toKongTable(max = 100): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of this.list.slice(0, max)) {
      const key = name.toLowerCase();
      const prev = out[key];
      if (prev === undefined) out[key] = value;
      else out[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
    }
    return out;
  }
}

export interface SerializeValue {
  key: string;
  value: unknown;
  mode: 'set' | 'add' | 'replace';
}

export interface Try {
  ip: string;
  port: number;
  balancer_latency: number;
  balancer_start: number;
  balancer_latency_ns?: number;
  state?: string;
  code?: number;
}

/** The data Kong keeps for the log timer (plugin.lua build_phases, phase "log"). */
export interface SavedForLater {
  serializeData: Record<string, unknown>;
  ngxCtx: Record<string, unknown>;
  ctxShared: Record<string, unknown>;
  requestHeaders: Record<string, string | string[]>;
  responseHeaders: Record<string, string | string[]>;
  responseStatus: number;
  reqStartTime: number;
}

/** One request as Kong holds it: the nginx variables and ngx.ctx fields the emulated PDK reads and writes. */
export class KongRequest {
  readonly id = randomBytes(16).toString('hex');
  readonly startedAtMs = Date.now();
  readonly startHr = process.hrtime.bigint();
  phase: Phase = 'rewrite';

  // var.*
  args: string;
  readonly requestUri: string;
  host: string;
  readonly scheme = 'http';

  // ngx.ctx
  route: Record<string, unknown> | undefined;
  service: Record<string, unknown> | undefined;
  workspace: string | undefined;
  routerPrefix: string | undefined;
  authenticatedConsumer: Record<string, unknown> | undefined;
  authenticatedCredential: Record<string, unknown> | undefined;
  authenticatedGroups: Record<string, unknown>[] | undefined;
  readonly ctxShared: Record<string, unknown> = {};
  readonly ngxCtx: Record<string, unknown> = {};
  serializeValues: SerializeValue[] | undefined;
  pluginId: string | undefined;
  pluginName: string | undefined;

  /** Where and how Kong will proxy (var.upstream_*, balancer_data). */
  readonly upstream = {
    scheme: 'http',
    host: '',
    port: 80,
    uri: '/',
    /** var.upstream_host: set by preserve_host, set_target or a Host header override. */
    hostHeader: undefined as string | undefined,
    method: '',
    headers: new HeaderList(),
    body: undefined as Buffer | undefined,
    tries: [] as Try[],
  };

  /** ngx.header: response headers set by plugins (before or after the upstream answered). */
  readonly responseHeaders = new HeaderList();
  status = 0;
  upstreamStatus: string | undefined;
  /** KONG_EXITED: the answer a plugin (or Kong) produced instead of proxying. */
  exitResponse: { status: number; body: Buffer; headers: HeaderList } | undefined;
  unexpected = false;
  proxied = false;
  buffered = false;
  /** The buffered upstream response, when a plugin with a `response` handler made Kong buffer it. */
  serviceResponse: { status: number; headers: HeaderList; body: Buffer } | undefined;

  // timings in ms (ctx.KONG_*)
  proxyLatency: number | undefined;
  waitingTime: number | undefined;
  receiveTime: number | undefined;
  responseLatency: number | undefined;
  requestTimeMs = 0;
  bytesSent = 0;

  constructor(
    readonly worker: Worker,
    readonly method: string,
    rawUrl: string,
    readonly headers: HeaderList,
    readonly body: Buffer,
    readonly client: { ip: string; port: number },
    readonly serverPort: number,
    readonly counter: RpcCounter,
  ) {
    this.requestUri = rawUrl;
    const q = rawUrl.indexOf('?');
    this.args = q >= 0 ? rawUrl.slice(q + 1) : '';
    const hostHeader = headers.get('host') ?? '';
    this.host = (hostHeader.replace(/:\d+$/, '') || 'localhost').toLowerCase();
    this.upstream.method = method;
    this.upstream.headers = headers.clone();
  }

  /** kong.request.get_path's raw part: the request URI without its query string. */
  get rawPath(): string {
    const q = this.requestUri.indexOf('?', 1);
    return q >= 0 ? this.requestUri.slice(0, q) : this.requestUri;
  }

  get requestLength(): number {
    let n = `${this.method} ${this.requestUri} HTTP/1.1\r\n`.length + 2;
    for (const [k, v] of this.headers.entries()) n += k.length + v.length + 4;
    return n + this.body.length;
  }

  elapsedMs(): number {
    return Number(process.hrtime.bigint() - this.startHr) / 1e6;
  }
}
