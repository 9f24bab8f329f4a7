import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDeclarative, type DeclarativeConfig } from '../../plugins/runtime/config/declarative';
import { KongEmulator, type KongEmulatorOptions } from '../support/kong-emulator/emulator';

export const FAKE_SERVER = join(__dirname, 'fixtures', 'fake-plugin-server.js');

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

/** An upstream that records requests. `/sse`: three SSE events 150 ms apart (`?accel=no` adds X-Accel-Buffering: no). */
export async function startUpstream(): Promise<{ url: string; port: number; seen: SeenRequest[]; close: () => Promise<void> }> {
  const seen: SeenRequest[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString() });
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.endsWith('/sse')) {
      const headers: Record<string, string> = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };
      if (url.searchParams.get('accel') === 'no') headers['x-accel-buffering'] = 'no';
      res.writeHead(200, headers);
      for (let i = 0; i < 3; i++) {
        res.write(`data: ${i}\n\n`);
        await new Promise((r) => setTimeout(r, 150));
      }
      res.end('data: [DONE]\n\n');
      return;
    }
    if (url.pathname.endsWith('/slow')) await new Promise((r) => setTimeout(r, 1_000));
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' });
    res.end(JSON.stringify({ ok: true, path: req.url }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

export function config(yaml: string): DeclarativeConfig {
  return parseDeclarative(yaml, 'test-kong.yaml');
}

export interface TraceEntry {
  pid: number;
  in?: [number, string, unknown];
  results?: { phase: string; instance: number; values: unknown[] };
}

/** A temp dir with a trace file for the fake server. */
export function traceDir(): { file: string; read: () => TraceEntry[]; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'kong-emu-trace-'));
  const file = join(dir, 'trace.jsonl');
  return {
    file,
    read: () =>
      existsSync(file)
        ? readFileSync(file, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as TraceEntry)
        : [],
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function fakeServerOptions(trace: string): NonNullable<KongEmulatorOptions['pluginServer']> {
  return {
    command: [process.execPath, FAKE_SERVER, 'serve', '--socket', '{socket}'],
    queryCommand: (plugin) => [process.execPath, FAKE_SERVER, 'dump', ...(plugin ? ['--plugin', plugin] : [])],
    env: { FAKE_TRACE: trace },
  };
}

export async function startWithFake(yaml: string, trace: string, extra: Partial<KongEmulatorOptions> = {}): Promise<KongEmulator> {
  return KongEmulator.start({ config: config(yaml), pluginServer: fakeServerOptions(trace), ...extra });
}

/** Polls until `check` returns a value (bounded). */
export async function eventually<T>(check: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
