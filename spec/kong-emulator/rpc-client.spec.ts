import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage, MsgpackStreamReader } from '../../plugins/runtime/protocol/msgpack-stream';
import { LuaError } from '../support/kong-emulator/lua';
import { ConnectionPool, PluginRpc, RpcConnection, RpcCounter, RpcNoDataError, RpcRemoteError } from '../support/kong-emulator/rpc-client';

type Reply = (msg: [number, number, string, unknown[]], socket: net.Socket) => void;

/** A scripted msgpack-RPC server: `pids` are announced as serverPid, one per accepted connection. */
async function scriptedServer(reply: Reply, pids: number[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'rpc-spec-'));
  const path = join(dir, 's.sock');
  const chunksSeen: number[] = [];
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const pid = pids[connections++];
    if (pid !== undefined) socket.write(encodeMessage([2, 'serverPid', pid]));
    const reader = new MsgpackStreamReader();
    socket.on('data', (chunk) => {
      chunksSeen.push(chunk.length);
      for (const m of reader.push(chunk)) reply(m as [number, number, string, unknown[]], socket);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(path, () => r()));
  return {
    path,
    chunksSeen,
    connections: () => connections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const echo: Reply = ([, id, method, [arg]], socket) => socket.write(encodeMessage([1, id, null, { method, arg }]));

describe('RpcConnection', () => {
  it('sends [0, id, method, [arg]] in arbitrary pieces and reads notifications before the response', async () => {
    const server = await scriptedServer(echo, [42]);
    const conn = await RpcConnection.connect(server.path);
    try {
      const result = await conn.call('plugin.HandleEvent', { InstanceId: 1, EventName: 'access' }, { splitAt: [1, 2, 3, 10] });
      expect(result).toEqual({ method: 'plugin.HandleEvent', arg: { InstanceId: 1, EventName: 'access' } });
      expect(server.chunksSeen.length).toBeGreaterThanOrEqual(2);
      expect(conn.notifications).toEqual([{ label: 'serverPid', args: 42 }]);
    } finally {
      conn.close();
      await server.close();
    }
  });

  it('reports a server error string, asserts the response id, and times out with "no data"', async () => {
    let mode = 'error';
    const server = await scriptedServer(([, id], socket) => {
      if (mode === 'error') socket.write(encodeMessage([1, id, 'no plugin instance #7', null]));
      if (mode === 'wrong-id') socket.write(encodeMessage([1, id + 1, null, 'x']));
    });
    const conn = await RpcConnection.connect(server.path);
    try {
      await expect(conn.call('plugin.HandleEvent', {})).rejects.toThrow(new RpcRemoteError('no plugin instance #7'));
      mode = 'silent';
      await expect(conn.call('plugin.Step', {}, { timeoutMs: 100 })).rejects.toBeInstanceOf(RpcNoDataError);
      mode = 'wrong-id';
      await expect(conn.call('plugin.Step', {})).rejects.toThrow(new LuaError('unexpected RPC response ID from Go plugin server'));
    } finally {
      conn.close();
      await server.close();
    }
  });
});

describe('ConnectionPool and PluginRpc', () => {
  it('reuses an idle connection and closes one that receives data while idle (nginx keepalive)', async () => {
    let lateReply: (() => void) | undefined;
    const server = await scriptedServer(([, id, method], socket) => {
      if (method === 'late') lateReply = () => socket.write(encodeMessage([1, id, null, 'late']));
      else socket.write(encodeMessage([1, id, null, 'ok']));
    });
    const pool = new ConnectionPool(server.path);
    try {
      const a = await pool.acquire();
      await a.call('plugin.Step', {});
      pool.release(a);
      const b = await pool.acquire();
      expect(b).toBe(a);
      await expect(b.call('late', {}, { timeoutMs: 50 })).rejects.toBeInstanceOf(RpcNoDataError);
      pool.release(b);
      lateReply!();
      await new Promise((r) => setTimeout(r, 50));
      expect(b.closed).toBe(true);
      const c = await pool.acquire();
      expect(c).not.toBe(b);
      expect(pool.opened).toBe(2);
      c.close();
    } finally {
      pool.closeAll();
      await server.close();
    }
  });

  it('numbers calls per Rpc object and drops cached instances only when serverPid changes', async () => {
    const server = await scriptedServer(echo, [100, 100, 200]);
    const pool = new ConnectionPool(server.path);
    const changed: PluginRpc[] = [];
    const counter = new RpcCounter();
    const rpc = new PluginRpc('p', pool, { timeoutMs: 1_000, counters: () => [counter], onServerPidChanged: (r) => changed.push(r), log: () => undefined });
    try {
      // three sequential calls on fresh connections: pid 100 (first seen), 100 (same), 200 (changed)
      for (let i = 0; i < 3; i++) {
        expect(await rpc.call('plugin.Step', { i })).toEqual({ ok: true, result: { method: 'plugin.Step', arg: { i } } });
        expect(changed).toHaveLength(i === 2 ? 1 : 0);
        pool.closeAll(); // the next call opens a new connection, which announces its serverPid
      }
      expect(rpc.msgId).toBe(3);
      expect(rpc.serverPid).toBe(200);
      expect(counter.byMethod['plugin.Step']).toBe(3);
    } finally {
      pool.closeAll();
      await server.close();
    }
  });

  it('returns Kong\'s (nil, err) when the socket is missing', async () => {
    const logs: string[] = [];
    const rpc = new PluginRpc('p', new ConnectionPool('/nonexistent/dir/x.sock'), {
      timeoutMs: 100,
      counters: () => [],
      onServerPidChanged: () => undefined,
      log: (_l, m) => logs.push(m),
    });
    expect(await rpc.call('plugin.StartInstance', {})).toEqual({ ok: false, error: 'no such file or directory' });
    expect(logs).toEqual(['trying to connect: no such file or directory']);
  });
});
