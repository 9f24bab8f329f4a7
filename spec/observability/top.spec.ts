import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runTop } from '../../plugins/runtime/cli/top';
import { RecentUsage } from '../../plugins/runtime/observability/recent-usage';
import { summarizeUsage } from '../../plugins/runtime/observability/usage-summary';
import { emitUsageEvent } from '../../plugins/runtime/usage-events';
import { mixedEvents, usageEvent } from './events';

const CLI = join(__dirname, '..', '..', 'dist', 'plugins', 'runtime', 'cli', 'main.js');

describe('usage summary and `kong-llm top`', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'llm-top-'));
    file = join(dir, 'usage.jsonl');
    const lines = mixedEvents().map((e, i) => (i % 2 ? JSON.stringify({ usage_event: e }) : JSON.stringify(e)));
    writeFileSync(file, [...lines, 'a log line that is not an event', '{"not":"an event"}', ''].join('\n'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('summarizes requests, errors, rejections, tokens, spend per team and model, percentiles and fallbacks', () => {
    const s = summarizeUsage(mixedEvents());
    expect(s).toMatchObject({
      requests: 8,
      errors: 4,
      streamed: 1,
      rejections: { pii: 1, limit: 1, budget: 1 },
      provider_errors: 1,
      fallbacks: 1,
      tokens: { prompt: 130, completion: 65, total: 195, cached: 20 },
      spend_usd: 0.005,
      latency_ms: { p50: 200, p95: 400 },
      ttft_ms: { p50: 40, p95: 40 },
      cache: { hits: 0, misses: 0, hit_rate: null, savings_usd: 0 },
      window: { from: '2026-11-23T10:00:00.000Z', to: '2026-11-23T10:01:30.000Z', events: 8 },
    });
    expect(s.spend_by.team.map((r) => [r.key, r.requests, r.usd])).toEqual([
      ['ads', 2, 0.0035],
      ['search', 2, 0.0015],
      ['data-science', 4, 0],
    ]);
    expect(s.spend_by.consumer.map((r) => [r.key, r.requests])).toEqual([
      ['alice', 6],
      ['bob', 2],
    ]);
    expect(s.timeline).toEqual([
      { t: '2026-11-23T10:00:00.000Z', requests: 5, errors: 2, usd: 0.004 },
      { t: '2026-11-23T10:01:00.000Z', requests: 3, errors: 2, usd: 0.001 },
    ]);
  });

  it('keeps a bounded window of recent events: the newest N, none older than the window', () => {
    const now = Date.parse('2026-11-23T12:00:00Z');
    const recent = new RecentUsage(3, 60_000);
    try {
      const at = (agoMs: number, id: string) => usageEvent({ request_id: id, time: new Date(now - agoMs).toISOString() });
      for (const e of [at(120_000, 'too-old'), at(50_000, 'a'), at(40_000, 'b'), at(30_000, 'c'), at(20_000, 'd')]) emitUsageEvent(e);
      expect(recent.events(now).map((e) => e.request_id)).toEqual(['b', 'c', 'd']);
      expect(recent.events(now + 25_000).map((e) => e.request_id)).toEqual(['c', 'd']);
      expect(recent.summary(now + 25_000)).toMatchObject({ requests: 2, window: { capacity: 3 } });
      expect(summarizeUsage([at(600_000, 'x'), at(420_000, 'y')]).timeline.map((p) => p.requests)).toEqual([1, 0, 0, 1]);
    } finally {
      recent.close();
    }
  });

  it('counts cache hits, misses and savings from the cache annotation', () => {
    const [a, b] = mixedEvents();
    const s = summarizeUsage([
      { ...a, cache: { status: 'hit', micro_usd_saved: 1200 } },
      { ...b, cache: { status: 'hit', micro_usd_saved: 800 } },
      { ...a, cache: { status: 'miss' } },
      a,
    ]);
    expect(s.cache).toEqual({ hits: 2, misses: 1, hit_rate: 2 / 3, savings_usd: 0.002 });
  });

  /** runTop in this process, its output captured. */
  async function top(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runTop(args, { log: (l) => out.push(l), error: (l) => err.push(l) }, {});
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  }

  it('prints a compact table from a usage-event file (bare and {usage_event} lines; other lines skipped)', async () => {
    const { stdout } = await top(['--events', file]);
    const lines = stdout.split('\n');
    expect(lines.slice(0, 8)).toEqual([
      'window     2026-11-23T10:00:00.000Z .. 2026-11-23T10:01:30.000Z',
      'requests   8 (1 streamed)',
      'errors     4 (provider 1, fallbacks 1)',
      'rejections pii 1, limit 1, budget 1',
      'tokens     195 (prompt 130, completion 65, cached 20)',
      'spend      $0.005000',
      'latency    p50 200 ms, p95 400 ms (ttft p50 40 ms, p95 40 ms)',
      'cache      hit rate - (0 hits, 0 misses), saved $0.00',
    ]);
    expect(stdout).toContain('team          requests     tokens        spend');
    expect(stdout).toMatch(/^ads\s+2\s+30\s+\$0\.003500$/m);
    expect(stdout).toMatch(/^claude-3-5-haiku\s+1\s+15\s+\$0\.001000$/m);
    expect(lines.every((l) => l.length <= 80)).toBe(true);
  });

  it('--json prints the summary; a missing source is a usage error', async () => {
    const { stdout } = await top(['--events', file, '--json']);
    expect(JSON.parse(stdout)).toEqual(JSON.parse(JSON.stringify(summarizeUsage(mixedEvents()))));
    expect(await top([])).toMatchObject({ code: 2, stderr: expect.stringContaining('top needs exactly one of --url or --events') });
  });

  it('is the `kong-llm top` (alias `summary`) command of the CLI', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'summary', '--events', file]);
    expect(stdout).toBe(`${(await top(['--events', file])).stdout}\n`);
  });
});
