import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

export interface RedisServer {
  port: number;
  url: string;
  stop(): Promise<void>;
  /** SIGSTOP: the server keeps its socket but answers nothing. */
  pause(): void;
  /** SIGCONT */
  resume(): void;
}

export interface RedisCluster {
  nodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 5000;

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function waitForReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`redis-server not ready after ${READY_TIMEOUT_MS} ms: ${output}`)), READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) done();
    };
    const onExit = (code: number | null) => fail(new Error(`redis-server exited (${code}): ${output}`));
    function cleanup() {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    }
    function done() {
      cleanup();
      resolve();
    }
    function fail(err: Error) {
      cleanup();
      reject(err);
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGCONT'); // a paused server cannot handle SIGTERM
    child.kill('SIGTERM');
  });
}

/**
 * Starts a throwaway redis-server on 127.0.0.1 (a free port unless `port` is given, e.g. to restart on the same
 * one), without persistence, in a temporary directory that stop() removes.
 */
export async function startRedisServer(opts: { args?: string[]; port?: number } = {}): Promise<RedisServer> {
  if (!onPath('redis-server')) {
    throw new Error('redis-server not found: install it with `apt-get install -y redis-server` (scripts/test does this for you)');
  }
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'redis-test-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const child = spawn('redis-server', [...args, ...(opts.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.resume();
  child.stderr.resume();
  try {
    await waitForReady(child);
  } catch (err) {
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    async stop() {
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts `masters` cluster-enabled servers and joins them into one cluster without replicas. */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  if (!onPath('redis-cli')) throw new Error('redis-cli not found: install it with `apt-get install -y redis-server`');
  const servers: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      const busPort = await freePort();
      servers.push(await startRedisServer({ args: ['--cluster-enabled', 'yes', '--cluster-port', String(busPort)] }));
    }
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`);
    const run = promisify(execFile);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 10_000 });
    await waitForClusterOk(servers.map((server) => server.port));
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes: servers.map((server) => ({ host: '127.0.0.1', port: server.port })), stop };
}

async function waitForClusterOk(ports: number[]): Promise<void> {
  const run = promisify(execFile);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const infos = await Promise.all(ports.map((port) => run('redis-cli', ['-p', String(port), 'cluster', 'info'])));
    if (infos.every(({ stdout }) => stdout.includes('cluster_state:ok'))) return;
    if (Date.now() > deadline) throw new Error('redis cluster did not reach cluster_state:ok within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
