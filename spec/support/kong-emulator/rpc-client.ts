import net from 'node:net';
import {
  MsgpackStreamReader,
  encodeMessage,
  RPC_NOTIFICATION,
  RPC_REQUEST,
  RPC_RESPONSE,
} from '../../../plugins/runtime/protocol/msgpack-stream';
import { LuaError } from './lua';

/** OpenResty's default cosocket read timeout, which Kong does not override for plugin-server sockets. */
export const DEFAULT_READ_TIMEOUT_MS = 60_000;
/** lua_socket_pool_size and lua_socket_keepalive_timeout defaults. */
const POOL_SIZE = 30;
const POOL_IDLE_TIMEOUT_MS = 60_000;

export type Notification = { label: string; args: unknown };

export interface CallOptions {
  /** msgid to send; by default the connection numbers its own calls from 1. */
  msgId?: number;
  /** Read timeout for each wait on the socket (Kong: 60 s). */
  timeoutMs?: number;
  /** Write the encoded request in pieces cut at these byte offsets (exercises the server's stream decoding). */
  splitAt?: number[];
  onNotification?: (n: Notification) => void;
}

/** The server answered `[1, id, err, nil]`. */
export class RpcRemoteError extends Error {
  override readonly name = 'RpcRemoteError';
}

/** Kong's `"no data"`: nothing (or not a whole message) arrived before the read timeout, or the peer closed. */
export class RpcNoDataError extends Error {
  override readonly name = 'RpcNoDataError';
  constructor() {
    super('no data');
  }
}

/**
 * One unix-socket connection speaking Kong's msgpack-RPC, strictly one call at a time.
 * `call` behaves like Kong's Rpc:call; `sendRaw`/`readMessage` let protocol tests send arbitrary bytes.
 */
export class RpcConnection {
  readonly notifications: Notification[] = [];
  private reader = new MsgpackStreamReader();
  private readonly queue: unknown[] = [];
  private wake: (() => void) | undefined;
  private nextOwnId = 0;
  private inCall = false;
  private idle = false;
  private closedFlag = false;
  private failure: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.onClose(err));
    socket.on('close', () => this.onClose());
  }

  static connect(socketPath: string): Promise<RpcConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(socketPath);
      const onError = (err: NodeJS.ErrnoException) => {
        socket.destroy();
        reject(new Error(connectErrorText(err)));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new RpcConnection(socket));
      });
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Kong's Rpc:call on this connection: returns the result, throws RpcRemoteError / RpcNoDataError / LuaError. */
  async call(method: string, arg: unknown, options: CallOptions = {}): Promise<unknown> {
    if (this.inCall) throw new Error('RpcConnection: a call is already in flight (Kong never pipelines)');
    this.inCall = true;
    const msgId = options.msgId ?? ++this.nextOwnId;
    try {
      await this.sendRaw(encodeMessage([RPC_REQUEST, msgId, method, [arg]]), options.splitAt);
      for (let i = 0; i < 1_000_000; i++) {
        const data = await this.readMessage(options.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS);
        if (!Array.isArray(data)) throw new LuaError('attempt to index a non-table RPC message');
        if (data[0] === RPC_NOTIFICATION) {
          const n = { label: String(data[1]), args: data[2] };
          this.notifications.push(n);
          options.onNotification?.(n);
          continue;
        }
        if (data[0] !== RPC_RESPONSE) throw new LuaError('RPC response expected from Go plugin server');
        if (data[1] !== msgId) throw new LuaError('unexpected RPC response ID from Go plugin server');
        if (data[2] !== null && data[2] !== undefined) throw new RpcRemoteError(String(data[2]));
        return data[3] ?? null;
      }
      throw new RpcNoDataError();
    } finally {
      // Kong's unpacker lives for one call: bytes read past the response are dropped with it
      this.reader = new MsgpackStreamReader();
      this.queue.length = 0;
      this.inCall = false;
    }
  }

  /** Writes bytes, cut at the given offsets into separate writes with a macrotask between them. */
  async sendRaw(bytes: Uint8Array, splitAt: number[] = []): Promise<void> {
    if (this.closedFlag) throw new Error('closed');
    const cuts = [...new Set(splitAt.filter((n) => n > 0 && n < bytes.length))].sort((a, b) => a - b);
    let from = 0;
    for (const to of [...cuts, bytes.length]) {
      await new Promise<void>((resolve, reject) =>
        this.socket.write(bytes.subarray(from, to), (err) => (err ? reject(new Error('broken pipe')) : resolve())),
      );
      from = to;
      if (to < bytes.length) await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Next whole message from the server; RpcNoDataError when none completes within `timeoutMs` of silence. */
  async readMessage(timeoutMs = DEFAULT_READ_TIMEOUT_MS): Promise<unknown> {
    for (;;) {
      if (this.queue.length > 0) return this.queue.shift();
      if (this.failure || this.closedFlag) throw new RpcNoDataError();
      const arrived = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          this.wake = undefined;
          resolve(false);
        }, timeoutMs);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve(true);
        };
      });
      if (!arrived) throw new RpcNoDataError();
    }
  }

  close(): void {
    this.closedFlag = true;
    this.socket.destroy();
  }

  /** Marks the connection as parked in a keepalive pool: nginx closes a pooled connection that receives data. */
  setIdle(idle: boolean): void {
    this.idle = idle;
  }

  private onData(chunk: Buffer): void {
    if (this.idle) {
      this.close();
      return;
    }
    try {
      this.queue.push(...this.reader.push(chunk));
    } catch (err) {
      this.failure = err as Error;
      this.close();
    }
    this.wake?.();
  }

  private onClose(err?: Error): void {
    this.closedFlag = true;
    if (err) this.failure = err;
    this.wake?.();
  }
}

function connectErrorText(err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return 'no such file or directory';
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  return err.message;
}

/** nginx's per-worker keepalive pool for one socket path. */
export class ConnectionPool {
  private readonly idle: { conn: RpcConnection; timer: NodeJS.Timeout }[] = [];
  opened = 0;

  constructor(private readonly socketPath: string) {}

  async acquire(): Promise<RpcConnection> {
    while (this.idle.length > 0) {
      const { conn, timer } = this.idle.pop()!;
      clearTimeout(timer);
      if (conn.closed) continue;
      conn.setIdle(false);
      return conn;
    }
    const conn = await RpcConnection.connect(this.socketPath);
    this.opened++;
    return conn;
  }

  /** Kong's setkeepalive(): back to the pool, or closed when the pool is full or the socket is dead. */
  release(conn: RpcConnection): void {
    if (conn.closed) return;
    if (this.idle.length >= POOL_SIZE) {
      conn.close();
      return;
    }
    conn.setIdle(true);
    const entry = { conn, timer: setTimeout(() => this.expire(entry), POOL_IDLE_TIMEOUT_MS) };
    entry.timer.unref();
    this.idle.push(entry);
  }

  closeAll(): void {
    for (const { conn, timer } of this.idle.splice(0)) {
      clearTimeout(timer);
      conn.close();
    }
  }

  private expire(entry: { conn: RpcConnection; timer: NodeJS.Timeout }): void {
    const i = this.idle.indexOf(entry);
    if (i >= 0) this.idle.splice(i, 1);
    entry.conn.close();
  }
}

/** RPC counts: total, per RPC method ("plugin.Step"...) and per PDK method the server called. */
export class RpcCounter {
  total = 0;
  byMethod: Record<string, number> = {};
  byPdkMethod: Record<string, number> = {};

  countRpc(method: string): void {
    this.total++;
    this.byMethod[method] = (this.byMethod[method] ?? 0) + 1;
  }

  countPdk(method: string): void {
    this.byPdkMethod[method] = (this.byPdkMethod[method] ?? 0) + 1;
  }
}

export type RpcOutcome = { ok: true; result: unknown } | { ok: false; error: string };

/**
 * Kong's per-plugin, per-worker Rpc object (mp_rpc.lua): its own msgid counter, connections from the worker's
 * pool, serverPid notifications remembered per Rpc object.
 */
export class PluginRpc {
  msgId = 0;
  serverPid: number | undefined;

  constructor(
    readonly pluginName: string,
    private readonly pool: ConnectionPool,
    private readonly options: {
      timeoutMs: number;
      counters: () => RpcCounter[];
      /** serverPid changed: drop this Rpc's cached instances (plugin.lua rpc_notifications.serverPid). */
      onServerPidChanged: (rpc: PluginRpc) => void;
      log: (level: 'err' | 'warn', message: string) => void;
    },
  ) {}

  /** Returns Kong's `(result)` or `(nil, err)`; protocol violations throw LuaError as Kong's asserts do. */
  async call(method: string, arg: unknown, extraCounters: RpcCounter[] = []): Promise<RpcOutcome> {
    const msgId = ++this.msgId;
    let conn: RpcConnection;
    try {
      conn = await this.pool.acquire();
    } catch (err) {
      const text = (err as Error).message;
      this.options.log('err', `trying to connect: ${text}`);
      return { ok: false, error: text };
    }
    for (const c of [...this.options.counters(), ...extraCounters]) c.countRpc(method);
    try {
      const result = await conn.call(method, arg, {
        msgId,
        timeoutMs: this.options.timeoutMs,
        onNotification: (n) => this.notification(n),
      });
      return { ok: true, result };
    } catch (err) {
      if (err instanceof RpcRemoteError || err instanceof RpcNoDataError) return { ok: false, error: err.message };
      if (err instanceof LuaError) {
        conn.close(); // never reached setkeepalive: the cosocket dies with the request
        throw err;
      }
      return { ok: false, error: (err as Error).message };
    } finally {
      this.pool.release(conn);
    }
  }

  private notification(n: Notification): void {
    if (n.label !== 'serverPid') return;
    const pid = Number(n.args);
    if (this.serverPid !== undefined && pid !== this.serverPid) this.options.onServerPidChanged(this);
    this.serverPid = pid;
  }
}
