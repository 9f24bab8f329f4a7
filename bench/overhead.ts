/**
 * Gateway overhead, measured in one run against baselines in the same run (issue "Benchmarks"):
 *   direct   — the OpenAI mock called directly;
 *   baseline — through the Kong emulator with key-auth and no plugin of ours (upstream = the mock);
 *   proxy    — the same with llm-proxy (plugin server + relay);
 *   all      — the same with all five plugins.
 * For each: latency p50/p99 at concurrency 1, throughput at concurrency 16, plugin-server CPU per request (from the
 * server's own cpuUsage, via GetStatus) and RPCs per request (counted by the emulator). Load: autocannon.
 *
 * Usage: node dist/bench/overhead.js [--seconds 5] [--out bench/results]
 */
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KongEmulator } from '../spec/support/kong-emulator/emulator';
import { RpcConnection } from '../spec/support/kong-emulator/rpc-client';
import { OpenAiMock } from '../spec/support/mock-providers/openai-mock';

const BODY = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are a helpful assistant for the support team.' },
    { role: 'user', content: 'Summarise the ticket: the customer cannot log in after resetting the password twice.' },
  ],
});

interface Figures {
  p50_ms: number;
  p99_ms: number;
  rps_c1: number;
  rps_c16: number;
  p99_c16_ms: number;
  server_cpu_us_per_request?: number;
  rpcs_per_request?: number;
}

const ALL_FIVE = ['llm-pii-guard', 'llm-semantic-cache', 'llm-token-limit', 'llm-cost-attribution'];

function kongYaml(mockUrl: string, scenario: 'baseline' | 'proxy' | 'all'): string {
  const ours =
    scenario === 'baseline'
      ? ''
      : [
          `          - name: llm-proxy\n            config: { provider: openai, base_url: "${mockUrl}/v1", auth: { api_key: bench-key } }`,
          ...(scenario === 'all' ? ALL_FIVE.map((n) => `          - name: ${n}`) : []),
        ].join('\n');
  const url = scenario === 'baseline' ? mockUrl : 'http://127.0.0.1:65535';
  return `_format_version: "3.0"
services:
  - name: llm
    url: ${url}
    routes:
      - name: chat
        paths: [/openai]
        strip_path: true
${ours ? `        plugins:\n${ours}\n` : ''}    plugins:
      - name: key-auth
        config: { key_names: [apikey], hide_credentials: true }
consumers:
  - username: bench
    keyauth_credentials: [{ key: bench-consumer-key }]
`;
}

async function load(url: string, connections: number, seconds: number, headers: Record<string, string>) {
  const result = await autocannon({
    url,
    method: 'POST',
    body: BODY,
    headers: { 'content-type': 'application/json', ...headers },
    connections,
    duration: seconds,
  });
  if (result.errors > 0 || result.non2xx > 0) throw new Error(`load run had ${result.errors} errors and ${result.non2xx} non-2xx answers`);
  return result;
}

/** Counters read around the concurrency-1 run: what the plugin server spent and how many RPCs Kong made. */
interface Probe {
  read(): Promise<{ cpuMicros: number; rpcs: number }>;
}

async function measure(url: string, seconds: number, headers: Record<string, string>, probe?: Probe): Promise<Figures> {
  await load(url, 4, 1, headers); // warm-up
  const before = await probe?.read();
  const c1 = await load(url, 1, seconds, headers);
  const after = await probe?.read();
  const c16 = await load(url, 16, seconds, headers);
  const requests = c1.requests.total;
  return {
    p50_ms: c1.latency.p50,
    p99_ms: c1.latency.p99,
    rps_c1: Math.round(c1.requests.average),
    rps_c16: Math.round(c16.requests.average),
    p99_c16_ms: c16.latency.p99,
    ...(before && after
      ? {
          server_cpu_us_per_request: Math.round((after.cpuMicros - before.cpuMicros) / requests),
          rpcs_per_request: Math.round(((after.rpcs - before.rpcs) / requests) * 10) / 10,
        }
      : {}),
  };
}

async function serverCpuMicros(socket: string): Promise<number> {
  const conn = await RpcConnection.connect(socket);
  try {
    return ((await conn.call('plugin.GetStatus', null)) as { CpuMicros: number }).CpuMicros;
  } finally {
    conn.close();
  }
}

async function scenario(name: 'baseline' | 'proxy' | 'all', mockUrl: string, dir: string, seconds: number): Promise<Figures> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, kongYaml(mockUrl, name));
  const socketPath = join(dir, `${name}.sock`);
  const kong = await KongEmulator.start({ config: file, pluginServer: { socketPath }, workers: 2 });
  try {
    const url = `${kong.url}/openai/v1/chat/completions`;
    // the baseline forwards the client's request as is, so the client carries the mock's key there
    const headers = { apikey: 'bench-consumer-key', authorization: 'Bearer bench-key' };
    if (name === 'baseline') return await measure(url, seconds, headers);
    const probe: Probe = { read: async () => ({ cpuMicros: await serverCpuMicros(socketPath), rpcs: kong.rpcStats.total }) };
    return await measure(url, seconds, headers, probe);
  } finally {
    await kong.stop();
  }
}

/**
 * The floor of this machine: a 600-byte ping-pong with another process over a unix socket (Kong ↔ plugin server)
 * and over loopback TCP (Kong ↔ relay ↔ provider). Every figure above is a multiple of these.
 */
async function roundTripFloor(dir: string): Promise<{ unix_rtt_us: number; tcp_rtt_us: number }> {
  const echo = `const net=require('net');const s=net.createServer(c=>{c.setNoDelay(true);c.on('data',d=>c.write(d))});` +
    `const a=process.argv[1];a.startsWith('/')?s.listen(a):s.listen(+a,'127.0.0.1',()=>{});s.on('listening',()=>process.stdout.write('up\\n'))`;
  const rtt = async (address: string): Promise<number> => {
    const child = spawn(process.execPath, ['-e', echo, address], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    const socket = address.startsWith('/') ? net.createConnection(address) : net.createConnection(Number(address), '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise((resolve) => socket.once('connect', resolve));
    let answered: () => void = () => undefined;
    socket.on('data', () => answered());
    const payload = Buffer.alloc(600, 1);
    const once = () => new Promise<void>((resolve) => ((answered = resolve), socket.write(payload)));
    for (let i = 0; i < 300; i++) await once();
    const started = process.hrtime.bigint();
    for (let i = 0; i < 3000; i++) await once();
    const us = Number(process.hrtime.bigint() - started) / 1e3 / 3000;
    socket.destroy();
    child.kill();
    return Math.round(us);
  };
  return { unix_rtt_us: await rtt(join(dir, 'rtt.sock')), tcp_rtt_us: await rtt('47199') };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, out: { type: 'string' } } });
  const seconds = Number(values.seconds ?? 5);
  const out = values.out ?? join(__dirname, '..', '..', 'bench', 'results');
  const dir = mkdtempSync(join(tmpdir(), 'llm-bench-'));
  const mock = new OpenAiMock({ apiKey: 'bench-key' });
  const { url: mockUrl } = await mock.start();
  try {
    const floor = await roundTripFloor(dir);
    const results: Record<string, Figures> = {};
    results.direct = await measure(`${mockUrl}/v1/chat/completions`, seconds, { authorization: 'Bearer bench-key' });
    for (const name of ['baseline', 'proxy', 'all'] as const) results[name] = await scenario(name, mockUrl, dir, seconds);
    const added = (name: string) => ({
      p50_ms: +(results[name].p50_ms - results.baseline.p50_ms).toFixed(2),
      p99_ms: +(results[name].p99_ms - results.baseline.p99_ms).toFixed(2),
    });
    const report = {
      date: new Date().toISOString(),
      machine: `${process.platform} ${process.arch}, node ${process.version}`,
      seconds_per_run: seconds,
      round_trip_floor: floor,
      results,
      added_latency_vs_baseline: { proxy: added('proxy'), all: added('all') },
    };
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'overhead.json'), `${JSON.stringify(report, null, 2)}\n`);
    const rows = Object.entries(results).map(
      ([name, f]) =>
        `| ${name} | ${f.p50_ms} | ${f.p99_ms} | ${f.rps_c1} | ${f.rps_c16} | ${f.p99_c16_ms} | ${f.server_cpu_us_per_request ?? '–'} | ${f.rpcs_per_request ?? '–'} |`,
    );
    const md = [
      '| path | p50 ms (c=1) | p99 ms (c=1) | req/s (c=1) | req/s (c=16) | p99 ms (c=16) | plugin-server CPU µs/req | RPCs/req |',
      '|---|---|---|---|---|---|---|---|',
      ...rows,
    ].join('\n');
    const floorLine = `Round trip to another process on this machine: unix socket ${floor.unix_rtt_us} µs, loopback TCP ${floor.tcp_rtt_us} µs.`;
    writeFileSync(join(out, 'overhead.md'), `${md}\n\n${floorLine}\n`);
    console.log(floorLine);
    writeFileSync(join(out, 'overhead.svg'), latencyChart(results));
    console.log(md);
    console.log(JSON.stringify(report.added_latency_vs_baseline));
  } finally {
    await mock.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A small bar chart of p50/p99 latency per path (SVG: no native graphics library needed). */
function latencyChart(results: Record<string, Figures>): string {
  const names = Object.keys(results);
  const max = Math.max(1, ...names.map((n) => results[n].p99_ms));
  const row = 36;
  const width = 560;
  const scale = (v: number) => (v / max) * (width - 170);
  const bars = names
    .map((n, i) => {
      const y = 30 + i * row;
      const f = results[n];
      return [
        `<text x="10" y="${y + 14}" font-size="13">${n}</text>`,
        `<rect x="90" y="${y}" width="${scale(f.p99_ms).toFixed(1)}" height="12" fill="#f4a261"/>`,
        `<rect x="90" y="${y + 13}" width="${scale(f.p50_ms).toFixed(1)}" height="12" fill="#2a9d8f"/>`,
        `<text x="${(95 + scale(f.p99_ms)).toFixed(1)}" y="${y + 11}" font-size="11">p99 ${f.p99_ms} ms</text>`,
        `<text x="${(95 + scale(f.p50_ms)).toFixed(1)}" y="${y + 24}" font-size="11">p50 ${f.p50_ms} ms</text>`,
      ].join('');
    })
    .join('');
  const height = 40 + names.length * row;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif"><text x="10" y="18" font-size="14" font-weight="bold">Latency at concurrency 1 (ms)</text>${bars}</svg>\n`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
