import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage, log } from '../logger';
import { readBody } from '../relay/read-body';
import { dashboardPage, loginPage } from './dashboard-page';
import { RecentUsage } from './recent-usage';

export interface DashboardOptions {
  host: string;
  port: number;
  adminToken: string;
  recent: RecentUsage;
}

const COOKIE = 'llm_dashboard';

/**
 * The built-in, read-only dashboard: GET / (the page), GET /api/summary (its JSON), POST /login (admin token from a
 * form → HttpOnly cookie), POST /logout. Everything needs the admin token, as `Authorization: Bearer` or the cookie;
 * the cookie holds an HMAC of the token, never the token.
 */
export class DashboardServer {
  private readonly server: http.Server;
  private readonly session: Buffer;
  private readonly tokenDigest: Buffer;

  constructor(private readonly opts: DashboardOptions) {
    this.tokenDigest = sha256(opts.adminToken);
    this.session = createHmac('sha256', opts.adminToken).update('llm-dashboard-session').digest();
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        log.warn('dashboard request failed', { error: errorMessage(err) });
        if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('bad request');
      });
    });
  }

  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    return { host: this.opts.host, port };
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const route = `${req.method} ${path}`;
    if (route === 'POST /login') return this.login(req, res);
    if (route === 'POST /logout') return redirect(res, { 'set-cookie': `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0` });
    if (route !== 'GET /' && route !== 'GET /api/summary') return send(res, 404, 'text/plain', 'not found');
    if (!this.authorized(req)) {
      return path === '/' ? send(res, 401, 'text/html', loginPage(undefined)) : send(res, 401, 'application/json', JSON.stringify({ error: 'admin token required' }));
    }
    const summary = this.opts.recent.summary();
    if (path === '/api/summary') return send(res, 200, 'application/json', JSON.stringify(summary));
    const nonce = randomBytes(16).toString('base64');
    send(res, 200, 'text/html', dashboardPage(summary, nonce), {
      'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    });
  }

  private async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams((await readBody(req, 4096, AbortSignal.timeout(10_000))).toString('utf8'));
    if (!this.tokenMatches(form.get('token') ?? '')) {
      log.warn('dashboard sign-in refused', { client_ip: req.socket.remoteAddress });
      return send(res, 401, 'text/html', loginPage('That token is not the admin token.'));
    }
    redirect(res, { 'set-cookie': `${COOKIE}=${this.session.toString('base64url')}; Path=/; HttpOnly; SameSite=Strict` });
  }

  private authorized(req: IncomingMessage): boolean {
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (bearer !== undefined) return this.tokenMatches(bearer.trim());
    const cookie = (req.headers.cookie ?? '')
      .split(';')
      .map((c) => c.trim().split('='))
      .find(([name]) => name === COOKIE)?.[1];
    return cookie !== undefined && sameBytes(Buffer.from(cookie, 'base64url'), this.session);
  }

  private tokenMatches(candidate: string): boolean {
    return sameBytes(sha256(candidate), this.tokenDigest);
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();
const sameBytes = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': `${type}; charset=utf-8`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    ...headers,
  });
  res.end(body);
}

function redirect(res: ServerResponse, headers: Record<string, string>): void {
  res.writeHead(303, { location: './', 'cache-control': 'no-store', ...headers }).end();
}

/**
 * LLM_DASHBOARD_PORT (0 = any free port) on LLM_DASHBOARD_HOST (default 127.0.0.1), protected by LLM_ADMIN_TOKEN.
 * Off without a port; refuses to start without a token.
 */
export async function startDashboardFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<{ close(): Promise<void> } | undefined> {
  const port = env.LLM_DASHBOARD_PORT;
  if (port === undefined || port === '' || port === 'off') return undefined;
  const adminToken = env.LLM_ADMIN_TOKEN ?? '';
  if (adminToken.length < 16) {
    log.error('dashboard not started: LLM_ADMIN_TOKEN must be set to a secret of at least 16 characters', { port });
    return undefined;
  }
  const recent = new RecentUsage(Number(env.LLM_DASHBOARD_EVENTS) || 10_000, (Number(env.LLM_DASHBOARD_WINDOW_S) || 3600) * 1000);
  const server = new DashboardServer({ host: env.LLM_DASHBOARD_HOST || '127.0.0.1', port: Number(port), adminToken, recent });
  try {
    const address = await server.listen();
    log.info('dashboard ready', address);
  } catch (err) {
    recent.close();
    log.warn('dashboard not started', { port, error: errorMessage(err) });
    return undefined;
  }
  return {
    async close() {
      await server.close();
      recent.close();
    },
  };
}
