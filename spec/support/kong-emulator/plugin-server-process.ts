import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { ExternalPluginInfo } from './instances';
import { isPlainObject } from './lua';

const MAX_KEPT_LINES = 5_000;
const RESPAWN_INTERVAL_MS = 1_000;
const STOP_GRACE_MS = 5_000;

export interface PluginServerProcessOptions {
  /** pluginserver name, used in the `[name:pid]` log prefix. */
  name: string;
  /** argv of the start command (spawned directly, as Kong's `exec <cmd>`). */
  command: string[];
  env?: Record<string, string>;
  cwd?: string;
  socketPath: string;
  /** Print the server's output lines to stderr (they are always kept in `lines`). */
  verbose?: boolean;
}

export interface ProcessExit {
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Kong's pluginserver_timer (process.lua): spawn, keep the merged stdout/stderr lines prefixed `[name:pid] `,
 * respawn at most once a second when it exits, stop for good on exit 127 (command not found), SIGTERM on stop.
 */
export class PluginServerProcess {
  readonly lines: string[] = [];
  readonly exits: ProcessExit[] = [];
  /** Spawns after the first one. */
  restarts = 0;
  private child: ChildProcess | undefined;
  private stopping = false;
  private respawnTimer: NodeJS.Timeout | undefined;
  private lastSpawnAt = 0;
  private exitWaiters: (() => void)[] = [];

  private constructor(private readonly options: PluginServerProcessOptions) {}

  static start(options: PluginServerProcessOptions): PluginServerProcess {
    const p = new PluginServerProcess(options);
    p.spawnChild();
    return p;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once the socket accepts connections (Kong itself has no readiness check: tests want one). */
  async waitForSocket(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await canConnect(this.options.socketPath)) return;
      if (Date.now() > deadline) {
        throw new Error(`plugin server "${this.options.name}" did not listen on its socket within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Waits for the next spawn after `previousPid` and for its socket. */
  async waitForRespawn(previousPid: number | undefined, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.running || this.pid === previousPid) {
      if (Date.now() > deadline) throw new Error(`plugin server "${this.options.name}" was not respawned`);
      await new Promise((r) => setTimeout(r, 25));
    }
    await this.waitForSocket(Math.max(1, deadline - Date.now()));
  }

  /** Signals the running server (Kong respawns it unless stopped). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  /** SIGTERM and no respawn; SIGKILL if it is still alive after a grace period. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.respawnTimer);
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }

  private spawnChild(): void {
    const [file, ...args] = this.options.command;
    this.lastSpawnAt = Date.now();
    const child = spawn(file, args, {
      cwd: this.options.cwd,
      env: { ...process.env, ...this.options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const prefix = () => `[${this.options.name}:${child.pid ?? 0}] `;
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (text: string) => {
        const parts = (partial + text).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) this.keepLine(prefix() + line);
      });
      stream?.on('end', () => partial && this.keepLine(prefix() + partial));
    }
    let notFound = false;
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') notFound = true; // the shell's exit 127
    });
    child.on('close', (code, signal) => {
      this.exits.push({ pid: child.pid, code: notFound ? 127 : code, signal });
      for (const w of this.exitWaiters.splice(0)) w();
      if (this.stopping) return;
      if (notFound || code === 127) {
        this.keepLine(`external pluginserver "${this.options.name}" start command exited with "command not found"`);
        return;
      }
      const wait = Math.max(0, this.lastSpawnAt + RESPAWN_INTERVAL_MS - Date.now());
      this.respawnTimer = setTimeout(() => {
        if (this.stopping) return;
        this.restarts++;
        this.spawnChild();
      }, wait);
    });
  }

  private keepLine(line: string): void {
    if (line.trim() === '' || line.endsWith('] ')) return;
    if (this.lines.length >= MAX_KEPT_LINES) this.lines.shift();
    this.lines.push(line);
    if (this.options.verbose) process.stderr.write(`${line}\n`);
  }
}

function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Runs a query command and returns its stdout (stderr is not part of what Kong parses). */
export function runQueryCommand(command: string[], env?: Record<string, string>, cwd?: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = command;
    const child = spawn(file, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`query command timed out after ${timeoutMs} ms: ${command.join(' ')}`));
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

type RawInfo = { Name?: unknown; Priority?: unknown; Version?: unknown; Phases?: unknown; Schema?: unknown };

/**
 * Parses a query command's stdout as Kong does: strict JSON (any other output fails plugin loading), then
 * `(dump.Plugins or dump)[1]` on Kong >= 3.9, every entry on <= 3.8. Validates Priority and Version as Kong's
 * plugin loader does.
 */
export function parsePluginInfo(stdout: string, command: string, socketPath: string, allEntries: boolean): ExternalPluginInfo[] {
  let dump: unknown;
  try {
    dump = JSON.parse(stdout);
  } catch (err) {
    throw new Error(`failed decoding plugin info: ${(err as Error).message} (query command: ${command})`);
  }
  if (typeof dump !== 'object' || dump === null) {
    throw new Error(`not a plugin info table: \n${command}\n${stdout.slice(0, 200)}`);
  }
  const list = (isPlainObject(dump) && Array.isArray(dump.Plugins) ? dump.Plugins : dump) as RawInfo[];
  if (!Array.isArray(list) || list.length === 0) throw new Error(`no plugin info in the output of: ${command}`);
  return (allEntries ? list : [list[0]]).map((info) => toPluginInfo(info, socketPath));
}

function toPluginInfo(info: RawInfo, socketPath: string): ExternalPluginInfo {
  const name = String(info.Name);
  const priority = info.Priority;
  if (typeof priority !== 'number' || !Number.isInteger(priority)) {
    throw new Error(`Plugin "${name}" cannot be loaded because its PRIORITY field is not a valid integer number, got: "${String(priority)}".`);
  }
  if (typeof info.Version !== 'string' || !/^\d+(\.\d+){0,2}$/.test(info.Version)) {
    throw new Error(`Plugin "${name}" cannot be loaded because its VERSION field does not follow the "x.y.z" format, got: "${String(info.Version)}".`);
  }
  const phases = Array.isArray(info.Phases) ? info.Phases.map(String) : [];
  return { name, priority, version: info.Version, phases, schema: info.Schema, socketPath };
}
