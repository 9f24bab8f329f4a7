import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { log, errorMessage } from '../logger';
import { MsgpackStreamReader, encodeMessage, RPC_REQUEST, RPC_RESPONSE, RPC_NOTIFICATION } from './msgpack-stream';

export type RpcMethods = Record<string, (arg: any) => Promise<unknown>>;

/**
 * Kong's msgpack-RPC over a unix socket: `[0, id, "plugin.Method", [arg]]` → `[1, id, error|nil, result|nil]`.
 * Every new connection first receives `[2, "serverPid", pid]`, which makes Kong drop instance ids it cached
 * from an earlier process (plugin.lua rpc_notifications.serverPid).
 */
export class RpcListener {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  rpcCount = 0;

  constructor(
    private readonly socketPath: string,
    private readonly methods: RpcMethods,
  ) {}

  async listen(): Promise<void> {
    mkdirSync(dirname(this.socketPath), { recursive: true });
    rmSync(this.socketPath, { force: true }); // a stale socket from a dead process
    const server = net.createServer((socket) => this.serve(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    rmSync(this.socketPath, { force: true });
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setNoDelay(true);
    socket.write(encodeMessage([RPC_NOTIFICATION, 'serverPid', process.pid]));
    const reader = new MsgpackStreamReader();
    socket.on('data', (chunk) => {
      let messages: unknown[];
      try {
        messages = reader.push(chunk);
      } catch (err) {
        log.warn('rpc connection dropped: undecodable bytes', { error: errorMessage(err) });
        socket.destroy();
        return;
      }
      for (const m of messages) void this.dispatch(socket, m);
    });
  }

  private async dispatch(socket: net.Socket, message: unknown): Promise<void> {
    if (!Array.isArray(message) || message[0] !== RPC_REQUEST || typeof message[2] !== 'string') {
      log.warn('rpc message ignored: not a request');
      return;
    }
    const [, msgId, fullName, args] = message as [number, number, string, unknown[]];
    this.rpcCount++;
    let error: string | null = null;
    let result: unknown = null;
    const [namespace, name] = splitMethod(fullName);
    const method = namespace === 'plugin' ? this.methods[name] : undefined;
    try {
      if (namespace !== 'plugin') throw new Error(`RPC for ${namespace} is not supported`);
      if (!method) throw new Error(`method ${name} not implemented`);
      result = await method(Array.isArray(args) ? args[0] : undefined);
    } catch (err) {
      error = errorMessage(err);
    }
    if (!socket.destroyed) socket.write(encodeMessage([RPC_RESPONSE, msgId, error, result ?? null]));
  }
}

function splitMethod(fullName: string): [string, string] {
  const dot = fullName.indexOf('.');
  return dot < 0 ? [fullName, ''] : [fullName.slice(0, dot), fullName.slice(dot + 1)];
}
