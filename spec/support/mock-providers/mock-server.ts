import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/**
 * Base of the mock LLM providers: an HTTP server on loopback that records every request, injects faults and lets a
 * provider module describe only its routes, its error envelope and its authentication. A new provider is one file
 * extending {@link MockProviderServer}.
 *
 * Order of work per request: record → fault delay (`delayMs`) → fault status/body (replaces the answer) →
 * authentication → route handler. Handlers answer through {@link MockReply}, which applies the remaining stream
 * faults (`chunkDelayMs`, `cutAfterChunks`, `malformed`) and the extra `headers`.
 * What the answers contain (echo of the last user message, words as tokens, bag-of-words embeddings) is shared by
 * all providers in ./deterministic.ts.
 */

/** Header with which an out-of-process client injects a fault for its own request (JSON of {@link MockFault}). */
export const FAULT_HEADER = 'x-mock-fault';

export const mockFaultSchema = z
  .object({
    /** Answer with this status instead of the normal answer (the provider's error envelope unless `body` is set). */
    status: z.number().int().min(100).max(599).optional(),
    /** Raw body sent instead of the normal answer, e.g. an HTML error page of a load balancer (status 500 by default). */
    body: z.string().optional(),
    /** Content type of `body`; text/plain by default. */
    contentType: z.string().min(1).optional(),
    /** Wait before sending the response headers. */
    delayMs: z.number().int().min(0).max(600_000).optional(),
    /** Wait between two frames of a stream. */
    chunkDelayMs: z.number().int().min(0).max(60_000).optional(),
    /** Destroy the socket after this many stream frames (a JSON answer: after half of its bytes). */
    cutAfterChunks: z.number().int().min(0).optional(),
    /** Send a broken frame after the first one of a stream (a JSON answer: its first half only). */
    malformed: z.literal(true).optional(),
    /** Extra response headers, e.g. retry-after. */
    headers: z.record(z.string(), z.string()).optional(),
  })
  .strict();
export type MockFault = z.infer<typeof mockFaultSchema>;

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body; undefined when the body is empty or not JSON. */
  body: unknown;
  rawBody: Buffer;
}

/** An error answered in the provider's own envelope (see {@link MockProviderServer.renderError}). */
export class MockHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: { type?: string; code?: string | null; param?: string | null } = {},
  ) {
    super(message);
  }
}

export interface MockRoute {
  method: string;
  /** Exact path, or a pattern whose groups are passed to the handler. */
  path: string | RegExp;
  handle(request: RecordedRequest, reply: MockReply, params: string[]): Promise<void> | void;
}

export interface MockServerOptions {
  host?: string;
  /** 0 (default) = a free port. */
  port?: number;
}

export interface StreamOptions {
  status?: number;
  contentType: string;
  frames: Array<string | Buffer>;
  /** The provider's idea of a broken frame (a truncated JSON event, a frame with a bad checksum…). */
  malformedFrame: string | Buffer;
  headers?: OutgoingHttpHeaders;
  /** Default delay between frames when the fault does not set one. */
  chunkDelayMs?: number;
}

/** How a handler answers; applies the request's fault to whatever it sends. */
export class MockReply {
  constructor(
    private readonly res: ServerResponse,
    private readonly fault: MockFault | undefined,
    private readonly signal: AbortSignal,
  ) {}

  async json(status: number, body: unknown, headers: OutgoingHttpHeaders = {}): Promise<void> {
    const text = JSON.stringify(body);
    if (this.fault?.malformed) return this.raw(status, text.slice(0, Math.ceil(text.length / 2)), 'application/json', headers);
    if (this.fault?.cutAfterChunks !== undefined) {
      const bytes = Buffer.from(text);
      this.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length, ...headers });
      await this.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
      return this.cut();
    }
    this.raw(status, text, 'application/json', headers);
  }

  raw(status: number, body: string | Buffer, contentType: string, headers: OutgoingHttpHeaders = {}): void {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    this.writeHead(status, { 'content-type': contentType, 'content-length': bytes.length, ...headers });
    this.res.end(bytes);
  }

  /**
   * Sends frames one write each (so a client sees them arrive one by one), honouring the stream faults.
   * With `cutAfterChunks` the socket is destroyed after that many frames (or after the last one if there are fewer):
   * the stream never ends cleanly.
   */
  async stream(options: StreamOptions): Promise<void> {
    const frames = [...options.frames];
    if (this.fault?.malformed) frames.splice(Math.min(1, frames.length), 0, options.malformedFrame);
    const delayMs = this.fault?.chunkDelayMs ?? options.chunkDelayMs ?? 0;
    const cutAfter = this.fault?.cutAfterChunks;

    this.writeHead(options.status ?? 200, { 'content-type': options.contentType, 'cache-control': 'no-cache', ...options.headers });
    this.res.flushHeaders();
    for (const [index, frame] of frames.entries()) {
      if (cutAfter !== undefined && index >= cutAfter) return this.cut();
      if (index > 0 && delayMs > 0) await sleep(delayMs, this.signal);
      if (this.res.destroyed || this.signal.aborted) return;
      await this.write(frame);
    }
    if (cutAfter !== undefined) return this.cut();
    this.res.end();
  }

  /** Resolves once the bytes are handed to the OS, so that a following cut does not swallow them. */
  private write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => this.res.write(data, () => resolve()));
  }

  private async cut(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    this.res.destroy();
  }

  private writeHead(status: number, headers: OutgoingHttpHeaders): void {
    const extra = Object.entries(this.fault?.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]);
    this.res.writeHead(status, { ...headers, ...Object.fromEntries(extra) });
  }
}

interface ActiveFault {
  fault: MockFault;
  /** undefined = every request until cleared */
  remaining: number | undefined;
}

export abstract class MockProviderServer {
  /** Answers whose connection closed before they were complete (the client went away, or a cut fault). */
  unfinishedAnswers = 0;
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  private server: http.Server | undefined;
  private stopping = new AbortController();
  private activeFault: ActiveFault | undefined;
  private baseUrl: string | undefined;

  constructor(protected readonly serverOptions: MockServerOptions = {}) {}

  /** Short name used in logs, e.g. `openai`. */
  abstract readonly providerName: string;
  protected abstract routes(): MockRoute[];
  /** The provider's error body for an error (injected faults carry only status and message). */
  protected abstract renderError(error: MockHttpError): unknown;
  /** Throws a {@link MockHttpError} when the request lacks the provider's credentials. */
  protected authenticate(_request: RecordedRequest): void {}

  get url(): string {
    if (!this.baseUrl) throw new Error(`mock-${this.providerName} is not started`);
    return this.baseUrl;
  }

  async start(): Promise<{ url: string; port: number }> {
    if (this.server) throw new Error(`mock-${this.providerName} is already started`);
    this.stopping = new AbortController();
    const server = http.createServer({ noDelay: true }, (req, res) => void this.handle(req, res));
    const host = this.serverOptions.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.serverOptions.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const { port } = server.address() as AddressInfo;
    this.baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return { url: this.baseUrl, port };
  }

  /** Stops listening, cuts open connections and wakes pending delays. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.stopping.abort();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Applies `fault` to the next `times` requests, or to every request until {@link clearFault} when omitted. */
  setFault(fault: MockFault, times?: number): void {
    if (times !== undefined && !(Number.isInteger(times) && times >= 1)) throw new Error(`times must be a positive integer, got ${times}`);
    this.activeFault = { fault: mockFaultSchema.parse(fault), remaining: times };
  }

  clearFault(): void {
    this.activeFault = undefined;
  }

  /** Forgets recorded requests and any programmatic fault. */
  reset(): void {
    this.requests.length = 0;
    this.clearFault();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on('close', () => {
      if (!res.writableFinished) this.unfinishedAnswers++;
    });
    try {
      const request = await recordable(req);
      this.requests.push(request);
      const fault = this.faultFor(request);
      if (fault?.delayMs) await sleep(fault.delayMs, this.stopping.signal);
      if (this.stopping.signal.aborted) return void res.destroy();

      const reply = new MockReply(res, fault, this.stopping.signal);
      if (fault?.status !== undefined || fault?.body !== undefined) {
        const status = fault.status ?? 500;
        if (fault.body !== undefined) reply.raw(status, fault.body, fault.contentType ?? 'text/plain; charset=utf-8');
        else await reply.json(status, this.renderError(new MockHttpError(status, `mock fault: injected status ${status}`)));
        return;
      }
      try {
        this.authenticate(request);
        const [route, params] = this.match(request);
        await route.handle(request, reply, params);
      } catch (err) {
        if (!(err instanceof MockHttpError)) throw err;
        if (!res.headersSent) await reply.json(err.status, this.renderError(err));
      }
    } catch (err) {
      if (err instanceof BadFaultHeader) {
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(err.message);
        return;
      }
      // A bug in a mock must be visible to the test as a failure, not a hang.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`mock-${this.providerName} failed: ${String(err)}`);
      else res.destroy();
    }
  }

  private match(request: RecordedRequest): [MockRoute, string[]] {
    for (const route of this.routes()) {
      if (route.method !== request.method) continue;
      if (typeof route.path === 'string') {
        if (route.path === request.path) return [route, []];
      } else {
        const m = route.path.exec(request.path);
        if (m) return [route, m.slice(1)];
      }
    }
    throw new MockHttpError(404, `Invalid URL (${request.method} ${request.path})`);
  }

  /** A fault in the request's header wins and leaves the programmatic one for the next request. */
  private faultFor(request: RecordedRequest): MockFault | undefined {
    const header = request.headers[FAULT_HEADER];
    if (typeof header === 'string') return parseFaultHeader(header);
    const active = this.activeFault;
    if (!active) return undefined;
    if (active.remaining !== undefined) {
      active.remaining -= 1;
      if (active.remaining <= 0) this.activeFault = undefined;
    }
    return active.fault;
  }
}

class BadFaultHeader extends Error {}

function parseFaultHeader(header: string): MockFault {
  let json: unknown;
  try {
    json = JSON.parse(header);
  } catch {
    throw new BadFaultHeader(`${FAULT_HEADER} is not JSON`);
  }
  const parsed = mockFaultSchema.safeParse(json);
  if (!parsed.success) throw new BadFaultHeader(`${FAULT_HEADER} is invalid: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

async function recordable(req: IncomingMessage): Promise<RecordedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const rawBody = Buffer.concat(chunks);
  const url = new URL(req.url ?? '/', 'http://mock.invalid');
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    headers: req.headers,
    body: parseJson(rawBody),
    rawBody,
  };
}

function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
