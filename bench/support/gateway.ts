import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KongEmulator } from '../../spec/support/kong-emulator/emulator';
import { runQueryCommand } from '../../spec/support/kong-emulator/plugin-server-process';
import { RpcConnection } from '../../spec/support/kong-emulator/rpc-client';
import type { LoadTarget } from './load';
import { BARE_RELAY } from './overhead-types';

/** The plugins besides llm-proxy, in Kong's order. Each one needs llm-proxy on the route: it is the relay. */
export const GOVERNANCE_PLUGINS = ['llm-pii-guard', 'llm-semantic-cache', 'llm-token-limit', 'llm-cost-attribution'] as const;
export const CACHE_PLUGIN = 'llm-semantic-cache';

/**
 * A route configuration under test. `plugins` empty: the baseline — Kong with key-auth only, proxying to the mock.
 * The cache runs in exact mode: its hit path is the one measured here (the semantic path has its own benchmark).
 */
export interface Scenario {
  name: string;
  plugins: string[];
  /** The emulator's upstream is the bare Node relay (bench/support/bare-relay.ts) in front of the mock. */
  bareRelay?: boolean;
}

export const SCENARIOS: Scenario[] = [
  { name: 'baseline', plugins: [] },
  { name: BARE_RELAY, plugins: [], bareRelay: true },
  { name: 'llm-proxy', plugins: ['llm-proxy'] },
  ...GOVERNANCE_PLUGINS.map((p) => ({ name: p, plugins: ['llm-proxy', p] })),
  { name: 'all five', plugins: ['llm-proxy', ...GOVERNANCE_PLUGINS] },
];

export const CLIENT_HEADERS = { apikey: 'bench-consumer-key', authorization: 'Bearer bench-key' };

function pluginEntry(name: string, mockUrl: string): string {
  if (name === 'llm-proxy') return `          - name: llm-proxy\n            config: { provider: openai, base_url: "${mockUrl}/v1", auth: { api_key: bench-key } }`;
  if (name === CACHE_PLUGIN) return `          - name: ${name}\n            config: { mode: exact }`;
  return `          - name: ${name}`;
}

export function kongYaml(mockUrl: string, scenario: Scenario): string {
  const ours = scenario.plugins.map((p) => pluginEntry(p, mockUrl)).join('\n');
  // the baseline forwards to the mock itself; a route with llm-proxy needs a plain-http placeholder service
  const url = scenario.plugins.length === 0 ? mockUrl : 'http://127.0.0.1:65535';
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

/** What the plugin server has spent (its own cpuUsage, via GetStatus) and how many RPCs Kong made. */
export interface Counters {
  cpuMicros: number;
  rpcs: number;
  /** Requests Kong has logged: a request counts once its log phase (and its RPCs) is done. */
  requests: number;
}

export interface Gateway {
  /** Chat completions URL through the emulator, with the client's headers (the body is the caller's). */
  target(body: string): LoadTarget;
  /** Read when no request is in flight; undefined for the baseline (no plugin server). */
  counters(): Promise<Counters | undefined>;
  /** The plugin server's RSS now, under load too; undefined for the baseline. */
  rssBytes(): Promise<number | undefined>;
  /** The live heap after a full GC (a server started with `nodeFlags: ['--expose-gc']`), and the RSS after it. */
  heapAfterGc(): Promise<{ heapBytes: number; rssBytes: number } | undefined>;
  stop(): Promise<void>;
}

async function pluginServerStatus(socket: string, gc = false): Promise<{ CpuMicros: number; Rss: number; HeapUsed: number }> {
  const conn = await RpcConnection.connect(socket);
  try {
    return (await conn.call('plugin.GetStatus', gc ? { Gc: true } : null)) as { CpuMicros: number; Rss: number; HeapUsed: number };
  } finally {
    conn.close();
  }
}

const SERVER_CLI = join(__dirname, '..', '..', 'plugins', 'runtime', 'cli', 'main.js');

/** Kong's query command of each plugin (`dump --plugin NAME`) from the plugin server in dist/. */
export type QueryCommand = (plugin: string | undefined) => string[];

/**
 * Runs each plugin's query command once and answers later queries from the saved output (Kong queries once at
 * startup; on a loaded 2-core machine a fresh Node process per plugin and per scenario costs seconds).
 */
export async function savedQueryCommand(dir: string): Promise<QueryCommand> {
  const cli = SERVER_CLI;
  const plugins = ['llm-proxy', ...GOVERNANCE_PLUGINS];
  // a plugin whose query fails gets no file: the scenarios with it then fail to start and are reported n/a
  await Promise.allSettled(
    plugins.map(async (p) => writeFileSync(join(dir, `${p}.info.json`), await runQueryCommand([process.execPath, cli, 'dump', '--plugin', p]))),
  );
  return (plugin) => ['cat', join(dir, `${plugin}.info.json`)];
}

/** The bare relay as a child process: its URL, its CPU time so far, and how to stop it. */
interface BareRelay {
  url: string;
  cpuMicros(): Promise<number>;
  stop(): void;
}

async function startBareRelay(mockUrl: string): Promise<BareRelay> {
  const child = fork(join(__dirname, 'bare-relay.js'), [mockUrl], { stdio: 'inherit' });
  const next = () =>
    new Promise<{ port?: number; cpu?: NodeJS.CpuUsage }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { port?: number; cpu?: NodeJS.CpuUsage }));
      child.once('exit', (code) => reject(new Error(`bare relay exited (${code})`)));
    });
  const { port } = await next();
  return {
    url: `http://127.0.0.1:${port}`,
    cpuMicros: async () => {
      const answer = next();
      child.send('cpu');
      const { cpu } = await answer;
      return cpu!.user + cpu!.system;
    },
    stop: () => void child.kill(),
  };
}

/**
 * The emulator (2 workers, as a 2-core Kong) with the scenario's route, and the real plugin server from dist/ (or,
 * for the bare-relay floor, the bare relay as the route's upstream).
 */
export async function startGateway(
  scenario: Scenario,
  mockUrl: string,
  dir: string,
  queryCommand?: QueryCommand,
  nodeFlags: string[] = [],
): Promise<Gateway> {
  const slug = scenario.name.replace(/\W+/g, '-');
  const file = join(dir, `${slug}.yaml`);
  const bare = scenario.bareRelay ? await startBareRelay(mockUrl) : undefined;
  writeFileSync(file, kongYaml(bare?.url ?? mockUrl, scenario));
  const socketPath = join(dir, `${slug}.sock`);
  let kong: KongEmulator;
  try {
    const command = nodeFlags.length > 0 ? [process.execPath, ...nodeFlags, SERVER_CLI, 'serve', '--socket', '{socket}'] : undefined;
    kong = await KongEmulator.start({ config: file, pluginServer: { socketPath, queryCommand, command }, workers: 2 });
  } catch (err) {
    bare?.stop();
    throw err;
  }
  const withServer = scenario.plugins.length > 0;
  const settled = async () => {
    await new Promise((resolve) => setTimeout(resolve, 100)); // a request the load generator dropped at its end finishes
    await kong.waitForLogTimers();
  };
  return {
    target: (body) => ({ url: `${kong.url}/openai/v1/chat/completions`, headers: CLIENT_HEADERS, body }),
    counters: async () => {
      if (bare) {
        await settled();
        return { cpuMicros: await bare.cpuMicros(), rpcs: kong.rpcStats.total, requests: kong.logs.length };
      }
      if (!withServer) return undefined;
      await settled();
      const status = await pluginServerStatus(socketPath);
      return { cpuMicros: status.CpuMicros, rpcs: kong.rpcStats.total, requests: kong.logs.length };
    },
    rssBytes: async () => (withServer ? (await pluginServerStatus(socketPath)).Rss : undefined),
    heapAfterGc: async () => {
      if (!withServer) return undefined;
      const status = await pluginServerStatus(socketPath, true);
      return { heapBytes: status.HeapUsed, rssBytes: status.Rss };
    },
    stop: async () => {
      await kong.stop();
      bare?.stop();
    },
  };
}

/** Plugin-server CPU µs and RPCs per request between two readings (taken when no request is in flight). */
export function perRequest(before: Counters | undefined, after: Counters | undefined) {
  const requests = before && after ? after.requests - before.requests : 0;
  if (!before || !after || requests === 0) return { server_cpu_us_per_request: null, rpcs_per_request: null };
  return {
    server_cpu_us_per_request: Math.round((after.cpuMicros - before.cpuMicros) / requests),
    rpcs_per_request: Math.round(((after.rpcs - before.rpcs) / requests) * 10) / 10,
  };
}
