import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadDeclarativeFile, type DeclarativeConfig } from '../../../plugins/runtime/config/declarative';
import type { BridgeDeps } from './bridge';
import { emulatedBundledPlugins, KONG_BUNDLED_PLUGINS } from './bundled';
import { EntityStore } from './entities';
import { Worker, type ExternalPluginInfo } from './instances';
import { KongLog } from './kong-log';
import { buildPdk } from './pdk';
import type { KongVersion, PdkEnvironment } from './pdk/context';
import { Pipeline } from './pipeline';
import { PluginConfigs, sortByPriority, type RegisteredPlugin } from './plugin-registry';
import { parsePluginInfo, PluginServerProcess, runQueryCommand } from './plugin-server-process';
import { createAgents, type UpstreamAgents } from './proxy';
import { HeaderList, KongRequest } from './request-state';
import { Router } from './router';
import { DEFAULT_READ_TIMEOUT_MS, RpcCounter } from './rpc-client';

export interface PluginServerOptions {
  /** Start command argv; an element "{socket}" is replaced by the socket path. Default: our server from dist/. */
  command?: string[];
  /** Query command per plugin (Kong >= 3.9) or for all plugins (`plugin` undefined, Kong <= 3.8). */
  queryCommand?: (plugin: string | undefined) => string[];
  env?: Record<string, string>;
  cwd?: string;
  socketPath?: string;
  /** false: the server is managed by someone else (Kong's "no start_cmd"); the emulator only connects. */
  manage?: boolean;
  /** Wait until the socket accepts connections before serving (Kong does not; tests want determinism). Default true. */
  waitReady?: boolean;
}

export interface KongEmulatorOptions {
  /** kong.yaml path or a parsed declarative config. */
  config: string | DeclarativeConfig;
  /** Environment for `{vault://env/...}` references; defaults to process.env. */
  env?: Record<string, string | undefined>;
  pluginServer?: PluginServerOptions | false;
  /** Emulated nginx workers (each with its own instance cache and msgid counters). Default 2. */
  workers?: number;
  /** HTTP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Read timeout of every plugin-server RPC (Kong: 60 s). */
  stepTimeoutMs?: number;
  /** 3.8: all plugins from one dump; 3.9 (default): first entry per query; 3.10: Enterprise (consumer groups PDK, `\.` in serialize keys). */
  kongVersion?: KongVersion;
  /** nginx client_body_buffer_size: larger bodies need get_raw_body(max). Default 8192. */
  clientBodyBufferSize?: number;
  /** How unset optional config fields reach StartInstance: absent (Kong's DAO select, default) or null. */
  unsetConfigFields?: 'absent' | 'null';
  /** Print Kong's log and the plugin server's output to stderr. */
  verbose?: boolean;
}

const KONG_VERSIONS: Record<KongVersion, string> = { '3.8': '3.8.0', '3.9': '3.9.0', '3.10': '3.10.0.0' };
const MAX_REQUEST_STATS = 1_000;

function projectRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 10 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir);
  return dir;
}

function defaultServerCli(): string {
  return join(projectRoot(), 'dist', 'plugins', 'runtime', 'cli', 'main.js');
}

/** Kong in a test: declarative config, router, plugin phases, the plugin-server protocol, proxying, logging. */
export class KongEmulator {
  /** The records kong.log.serialize() gives logging plugins, one per request, pushed at its log phase. */
  readonly logs: Record<string, unknown>[] = [];
  /** RPCs to the plugin server, all requests together. */
  readonly rpcStats = new RpcCounter();
  readonly errorLog: KongLog;
  readonly workers: Worker[];
  pluginServer: PluginServerProcess | undefined;
  /** Loaded plugins in Kong's execution order. */
  readonly plugins: RegisteredPlugin[];
  private readonly requestStats = new Map<string, RpcCounter>();
  private readonly background = new Set<Promise<void>>();
  private server: http.Server | undefined;
  private nextWorker = 0;
  private configs: PluginConfigs;
  private tmpDir: string | undefined;
  private readonly agents: UpstreamAgents = createAgents();
  private port = 0;

  private constructor(
    private readonly options: KongEmulatorOptions,
    private readonly cfg: DeclarativeConfig,
    registry: Map<string, RegisteredPlugin>,
  ) {
    this.errorLog = new KongLog(options.verbose);
    this.plugins = sortByPriority([...registry.values()]);
    this.configs = new PluginConfigs(cfg, registry, options.env ?? process.env, options.unsetConfigFields === 'null');
    const timeoutMs = options.stepTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
    this.workers = Array.from(
      { length: options.workers ?? 2 },
      (_, id) => new Worker(id, { timeoutMs, counters: () => [this.rpcStats], log: this.errorLog }),
    );
  }

  static async start(options: KongEmulatorOptions): Promise<KongEmulator> {
    const version = options.kongVersion ?? '3.9';
    const cfg = typeof options.config === 'string' ? loadDeclarativeFile(options.config) : options.config;
    const entities = new EntityStore(cfg);
    const bundled = emulatedBundledPlugins(entities);
    const names = [...new Set(cfg.plugins.map((p) => p.name))];
    if (version !== '3.10' && cfg.plugins.some((p) => p.consumer_group)) {
      throw new Error('consumer_group-scoped plugins need Kong Enterprise: start the emulator with kongVersion "3.10"');
    }
    const externalNames: string[] = [];
    for (const name of names) {
      if (bundled.has(name)) continue;
      if (KONG_BUNDLED_PLUGINS.includes(name)) {
        throw new Error(`bundled plugin "${name}" is not emulated by the Kong emulator (emulated: ${[...bundled.keys()].join(', ')})`);
      }
      externalNames.push(name);
    }
    if (externalNames.length > 0 && options.pluginServer === false) {
      throw new Error(`external plugins ${externalNames.join(', ')} are configured but pluginServer is false`);
    }

    let tmpDir: string | undefined;
    const ps = options.pluginServer === false ? undefined : (options.pluginServer ?? {});
    let socketPath = ps?.socketPath;
    if (ps && !socketPath) {
      tmpDir = mkdtempSync(join(tmpdir(), 'kong-emu-'));
      socketPath = join(tmpDir, 'plugins.sock');
    }
    const registry = new Map<string, RegisteredPlugin>();
    for (const b of bundled.values()) if (names.includes(b.name)) registry.set(b.name, { name: b.name, priority: b.priority, phases: new Set(b.phases), bundled: b });
    if (ps && externalNames.length > 0) {
      for (const info of await queryPluginInfos(ps, socketPath!, externalNames, version)) {
        registry.set(info.name, { name: info.name, priority: info.priority, phases: new Set(info.phases), external: info });
      }
    }

    const emulator = new KongEmulator(options, cfg, registry);
    emulator.tmpDir = tmpDir;
    try {
      if (ps && externalNames.length > 0 && ps.manage !== false) {
        emulator.pluginServer = PluginServerProcess.start({
          name: 'kong-llm',
          command: (ps.command ?? [process.execPath, defaultServerCli(), 'serve', '--socket', '{socket}']).map((a) =>
            a === '{socket}' ? socketPath! : a,
          ),
          // test and dev servers take any free metrics port: several run side by side
          env: { LLM_METRICS_PORT: '0', ...ps.env },
          cwd: ps.cwd ?? projectRoot(),
          socketPath: socketPath!,
          verbose: options.verbose,
        });
        if (ps.waitReady !== false) await emulator.pluginServer.waitForSocket();
      }
      await emulator.listen(entities, version);
    } catch (err) {
      await emulator.stop();
      throw err;
    }
    return emulator;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** RPCs made for one request, by its X-Kong-Request-Id (kept for the last 1000 requests). */
  rpcStatsFor(requestId: string): RpcCounter | undefined {
    return this.requestStats.get(requestId);
  }

  /** Resolves when every log-phase timer started so far has finished. */
  async waitForLogTimers(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.background.size > 0) {
      if (Date.now() > deadline) throw new Error('log timers still running');
      await Promise.race([Promise.allSettled([...this.background]), new Promise((r) => setTimeout(r, 50))]);
    }
  }

  /** A config rebuild: every plugin gets a new __seq__, so each worker restarts its instances lazily (Kong >= 3.7). */
  rebuildPluginConfigs(): void {
    const registry = new Map(this.plugins.map((p) => [p.name, p]));
    this.configs = new PluginConfigs(this.cfg, registry, this.options.env ?? process.env, this.options.unsetConfigFields === 'null');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.waitForLogTimers(5_000).catch(() => undefined);
    for (const w of this.workers) w.close();
    await this.pluginServer?.stop();
    this.agents.http.destroy();
    this.agents.https.destroy();
    if (this.tmpDir) rmSync(this.tmpDir, { recursive: true, force: true });
  }

  private async listen(entities: EntityStore, version: KongVersion): Promise<void> {
    const env: PdkEnvironment = {
      kongVersion: version,
      nodeId: randomUUID(),
      log: this.errorLog,
      findConsumer: (id, byUsername) => entities.findConsumer(id, byUsername),
      consumerGroupsOf: (id) => entities.groupsOf(id),
      clientBodyBufferSize: this.options.clientBodyBufferSize ?? 8192,
    };
    const bridge: BridgeDeps = { pdk: buildPdk(version), log: this.errorLog, workers: this.workers, globalCounters: () => [this.rpcStats] };
    const pipeline = new Pipeline({
      entities,
      router: new Router(entities.routes.values(), entities.services),
      plugins: this.plugins,
      configs: () => this.configs,
      bridge,
      env,
      serverHeader: `kong/${KONG_VERSIONS[version]}`,
      agents: this.agents,
      consumerGroups: version === '3.10',
      onLogRecord: (record) => this.logs.push(record),
      trackBackground: (task) => {
        this.background.add(task);
        void task.finally(() => this.background.delete(task));
      },
    });
    const server = http.createServer((req, res) => void this.onRequest(pipeline, req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
  }

  private async onRequest(pipeline: Pipeline, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      return; // the client went away while sending its body
    }
    const worker = this.workers[this.nextWorker];
    this.nextWorker = (this.nextWorker + 1) % this.workers.length;
    const counter = new RpcCounter();
    const kongReq = new KongRequest(
      worker,
      req.method ?? 'GET',
      req.url ?? '/',
      HeaderList.fromRaw(req.rawHeaders),
      Buffer.concat(chunks),
      { ip: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''), port: req.socket.remotePort ?? 0 },
      this.port,
      counter,
    );
    this.requestStats.set(kongReq.id, counter);
    if (this.requestStats.size > MAX_REQUEST_STATS) this.requestStats.delete(this.requestStats.keys().next().value!);
    await pipeline.handle(kongReq, res);
  }
}

async function queryPluginInfos(
  ps: PluginServerOptions,
  socketPath: string,
  names: string[],
  version: KongVersion,
): Promise<ExternalPluginInfo[]> {
  const query = ps.queryCommand ?? ((plugin) => [process.execPath, defaultServerCli(), 'dump', ...(plugin ? ['--plugin', plugin] : [])]);
  const cwd = ps.cwd ?? projectRoot();
  const found = new Map<string, ExternalPluginInfo>();
  if (version === '3.8') {
    const command = query(undefined);
    for (const info of parsePluginInfo(await runQueryCommand(command, ps.env, cwd), command.join(' '), socketPath, true)) {
      found.set(info.name, info);
    }
  } else {
    for (const name of names) {
      const command = query(name);
      const [info] = parsePluginInfo(await runQueryCommand(command, ps.env, cwd), command.join(' '), socketPath, false);
      found.set(info.name, info);
    }
  }
  for (const name of names) if (!found.has(name)) throw new Error(`${name} plugin is enabled but not installed`);
  return names.map((n) => found.get(n)!);
}
