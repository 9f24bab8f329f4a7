import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { log } from '../../plugins/runtime/logger';
import { DashboardServer, startDashboardFromEnv } from '../../plugins/runtime/observability/dashboard-server';
import { RecentUsage } from '../../plugins/runtime/observability/recent-usage';
import { summarizeUsage } from '../../plugins/runtime/observability/usage-summary';
import { emitUsageEvent } from '../../plugins/runtime/usage-events';
import { mixedEvents, usageEvent } from './events';

const TOKEN = 'test-admin-token-0123456789';
const SCREENSHOT = join(__dirname, '..', '..', 'docs', 'img', 'dashboard.png');

function chromiumPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
const CHROMIUM = chromiumPath();

describe('built-in dashboard page', () => {
  let recent: RecentUsage;
  let server: DashboardServer;
  let base: string;
  const events = mixedEvents(Date.now() - 5 * 60_000);

  beforeAll(async () => {
    recent = new RecentUsage(100, 60 * 60_000);
    emitUsageEvent(usageEvent({ time: new Date(Date.now() - 2 * 60 * 60_000).toISOString() })); // outside the window
    for (const e of events) emitUsageEvent(e);
    server = new DashboardServer({ host: '127.0.0.1', port: 0, adminToken: TOKEN, recent });
    const { port } = await server.listen();
    base = `http://127.0.0.1:${port}/`;
  });
  afterAll(async () => {
    await server.close();
    recent.close();
  });

  it('answers 401 without the admin token: the login form for the page, JSON for the API; a wrong token too', async () => {
    const page = await request(base);
    expect([page.statusCode, page.headers['content-type']]).toEqual([401, 'text/html; charset=utf-8']);
    expect(await page.body.text()).toContain('name="token"');
    const api = await request(`${base}api/summary`);
    expect([api.statusCode, await api.body.json()]).toEqual([401, { error: 'admin token required' }]);
    const wrong = await request(`${base}api/summary`, { headers: { authorization: 'Bearer not-the-token' } });
    expect(wrong.statusCode).toBe(401);
    await wrong.body.dump();
    const badLogin = await request(`${base}login`, { method: 'POST', body: 'token=nope', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect([badLogin.statusCode, badLogin.headers['set-cookie']]).toEqual([401, undefined]);
    await badLogin.body.dump();
  });

  it('with the token (Bearer, or the HttpOnly cookie the login form sets) serves the summary of the recent events only', async () => {
    const api = await request(`${base}api/summary`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(api.statusCode).toBe(200);
    expect(await api.body.json()).toEqual(JSON.parse(JSON.stringify(summarizeUsage(events, { capacity: 100 }))));
    const login = await request(`${base}login`, { method: 'POST', body: `token=${TOKEN}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const cookie = String(login.headers['set-cookie']);
    expect(login.statusCode).toBe(303);
    expect(cookie).toMatch(/^llm_dashboard=[\w-]+; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain(TOKEN);
    const page = await request(base, { headers: { cookie: cookie.split(';')[0] } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'nonce-[^']+'/);
    expect(await page.body.text()).not.toMatch(/<(script|link|img)[^>]+(src|href)=/); // self-contained
  });

  it('`kong-llm top --url` reads the same summary with the token from $LLM_ADMIN_TOKEN, and names a 401', async () => {
    const cli = join(__dirname, '..', '..', 'dist', 'plugins', 'runtime', 'cli', 'main.js');
    const run = (token: string) => promisify(execFile)(process.execPath, [cli, 'top', '--url', base, '--json'], { env: { PATH: process.env.PATH ?? '', LLM_ADMIN_TOKEN: token } });
    expect(JSON.parse((await run(TOKEN)).stdout)).toEqual(JSON.parse(JSON.stringify(summarizeUsage(events, { capacity: 100 }))));
    const refused = await run('wrong-token').then(() => undefined, (e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringContaining('answered HTTP 401 (wrong admin token?)') });
  });

  it('is off without LLM_DASHBOARD_PORT, and refuses to start without an admin token, saying why', async () => {
    const lines: string[] = [];
    log.setWriter((line) => lines.push(line));
    try {
      expect(await startDashboardFromEnv({})).toBeUndefined();
      expect(lines).toEqual([]);
      expect(await startDashboardFromEnv({ LLM_DASHBOARD_PORT: '0' })).toBeUndefined();
    } finally {
      log.setWriter((line) => process.stderr.write(line));
    }
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ level: 'error', event: 'dashboard not started: LLM_ADMIN_TOKEN must be set to a secret of at least 16 characters' }),
    ]);
  });

  (CHROMIUM ? it : it.skip)(
    CHROMIUM ? 'in headless Chromium: sign in, and the page shows the numbers of the usage events' : 'in headless Chromium (skipped: no chromium on PATH; scripts/test installs it with apt)',
    async () => {
      const puppeteer = await import('puppeteer-core');
      const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
      try {
        const page = await browser.newPage();
        await page.setViewport({ width: 1280, height: 900 });
        const foreign: string[] = [];
        page.on('request', (r) => {
          if (!r.url().startsWith(base)) foreign.push(r.url());
        });
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.goto(base);
        await page.type('#token', TOKEN);
        await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
        await page.waitForSelector('body[data-rendered="true"]', { timeout: 10_000 });
        const tiles = await page.$$eval('[data-metric]', (els) => Object.fromEntries(els.map((e) => [e.getAttribute('data-metric'), e.querySelector('.value')?.textContent])));
        expect(tiles).toEqual({
          requests: '8',
          errors: '4',
          spend: '$0.005000',
          tokens: '195',
          'latency-p50': '200 ms',
          'latency-p95': '400 ms',
          'ttft-p50': '40 ms',
          'cache-hit-rate': '–',
          'cache-savings': '$0.000000',
          rejections: '3',
          'provider-errors': '1',
          fallbacks: '1',
        });
        const bars = (id: string) =>
          page.$$eval(`#${id} g[data-key]`, (gs) => gs.map((g) => [g.getAttribute('data-key'), Number(g.getAttribute('data-value'))]));
        expect(await bars('by-team')).toEqual([
          ['ads', 0.0035],
          ['search', 0.0015],
          ['data-science', 0],
        ]);
        expect(await bars('by-model')).toEqual([
          ['gpt-4o', 0.0025],
          ['gpt-4o-mini', 0.0015],
          ['claude-3-5-haiku', 0.001],
        ]);
        expect(await bars('rejections')).toEqual([
          ['pii', 1],
          ['limit', 1],
          ['budget', 1],
        ]);
        expect(await page.$$eval('#timeline rect', (r) => r.length)).toBeGreaterThan(0);
        expect({ foreign, errors }).toEqual({ foreign: [], errors: [] });
        if (process.env.UPDATE_SCREENSHOT === '1') {
          mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
          await page.screenshot({ path: SCREENSHOT as `${string}.png`, fullPage: true });
          expect(statSync(SCREENSHOT).size).toBeLessThan(300 * 1024);
        }
      } finally {
        await browser.close();
      }
    },
    30_000,
  );
});
