import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';

/** What the flaky upstream does with one request. */
export type Fault =
  | { kind: 'pass' }
  /** An error answer in OpenAI's envelope, with optional headers (retry-after…). */
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  /** Never answers (the gateway's first-byte timeout must cut it). */
  | { kind: 'hang' }
  /** Destroys the connection without an answer. */
  | { kind: 'reset' };

/**
 * A fault-injecting front for a mock provider: each request gets the fault `pick` chooses (random in the chaos
 * tests), or passes through to the mock. Records when every request arrived and what it got.
 */
export class FlakyUpstream {
  readonly log: { at: number; fault: Fault['kind']; status?: number }[] = [];
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  private readonly hung = new Set<http.ServerResponse>();
  url = '';

  constructor(
    private readonly target: string,
    public pick: (n: number) => Fault,
  ) {}

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const res of this.hung) res.destroy();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const fault = this.pick(this.log.length);
    this.log.push({ at: Date.now(), fault: fault.kind, status: fault.kind === 'status' ? fault.status : undefined });
    switch (fault.kind) {
      case 'status': {
        const body = JSON.stringify({ error: { message: `injected ${fault.status}`, type: 'server_error', param: null, code: null } });
        res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers }).end(body);
        return;
      }
      case 'hang':
        this.hung.add(res);
        res.on('close', () => this.hung.delete(res));
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'pass': {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'host') headers[name] = value;
        const upstream = await request(`${this.target}${req.url}`, { method: req.method as 'POST', headers, body: Buffer.concat(chunks) });
        res.writeHead(upstream.statusCode, upstream.headers as http.OutgoingHttpHeaders);
        for await (const chunk of upstream.body) res.write(chunk);
        res.end();
      }
    }
  }
}

/** Random failures of every kind: 429 (with or without Retry-After), 500, 503, hangs and resets. */
export function chaos(random: () => number = Math.random): (n: number) => Fault {
  const faults: Fault[] = [
    { kind: 'status', status: 429, headers: { 'retry-after-ms': '5' } },
    { kind: 'status', status: 429 },
    { kind: 'status', status: 500 },
    { kind: 'status', status: 503 },
    { kind: 'hang' },
    { kind: 'reset' },
  ];
  return () => faults[Math.floor(random() * faults.length)];
}
