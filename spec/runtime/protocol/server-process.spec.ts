import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeMessage, RPC_REQUEST } from '../../../plugins/runtime/protocol/msgpack-stream';
import { PluginServerProcess } from '../../support/kong-emulator/plugin-server-process';
import { RpcConnection } from '../../support/kong-emulator/rpc-client';
import { startPluginServerOnSocket, SUITE_CLI } from '../../support/plugin-server-socket';

/**
 * The real plugin-server process (compiled dist/), driven over its unix socket the way Kong drives it.
 * Each test names the kong-pdk 0.6.0 defect it proves absent (shared/research/feasibility.md).
 */
const CLI = SUITE_CLI;
const SECRET = 'sk-LEAKCHECK-3f9a1c';
const run = promisify(execFile);

type Status = { Pid: number; Events: number; Instances: unknown[]; CpuMicros: number };
type Step = { EventId: number; Data: { Method: string; Args: unknown[] } | 'ret' };

describe('plugin-server process', () => {
  let dir: string;
  let socketPath: string;
  let server: PluginServerProcess;
  let conn: RpcConnection;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-ps-'));
    // stray entries next to the socket (Kong's prefix) must not matter
    mkdirSync(join(dir, 'empty-folder'));
    writeFileSync(join(dir, 'stray.js'), 'module.exports = 1;');
    ({ socketPath, server, conn } = await startPluginServerOnSocket(dir, { LLM_EVENT_TIMEOUT_MS: '300', LLM_LOG_LEVEL: 'debug', LLM_METRICS_PORT: '0' }));
  });

  afterAll(async () => {
    conn?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (method: string, arg: unknown) => conn.call(`plugin.${method}`, arg);
  const status = async () => (await call('GetStatus', null)) as Status;
  const startProxy = async (config: Record<string, unknown>) =>
    ((await call('StartInstance', { Name: 'llm-proxy', Config: JSON.stringify({ __seq__: 1, route_id: null, ...config }) })) as { Id: number }).Id;
  const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))![1]);

  it('announces its pid on every new connection (serverPid), before the first answer', async () => {
    await status();
    expect(conn.notifications[0]).toEqual({ label: 'serverPid', args: server.pid });
  });

  it('leaves no event behind after 20,000 kong.response.exit, and its RSS stays bounded', async () => {
    const id = await startProxy({ provider: 'not-a-provider' }); // refused config → access answers 500 with exit
    const exits = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const r = (await call('HandleEvent', { InstanceId: id, EventName: 'access' })) as Step;
        if (r.Data === 'ret' || r.Data.Method !== 'kong.response.exit') throw new Error('expected an exit');
      }
    };
    await exits(5_000);
    const before = rssKb();
    await exits(20_000);
    expect((await status()).Events).toBe(0);
    expect(rssKb() - before).toBeLessThan(16 * 1024); // kong-pdk 0.6.0 retains ~1.2 KB per exit: ~24 MB here
  }, 60_000);

  /** Runs one access phase of `instance`, answering Kong's side of each PDK call; returns the methods called. */
  const accessCalls = async (instance: number, answers: Record<string, unknown>): Promise<string[]> => {
    let r = (await call('HandleEvent', { InstanceId: instance, EventName: 'access' })) as Step;
    const methods: string[] = [];
    while (r.Data !== 'ret') {
      methods.push(r.Data.Method);
      r = (await call('Step', { EventId: r.EventId, Data: answers[r.Data.Method] ?? null })) as Step;
    }
    return methods;
  };
  const KONG_ANSWERS = {
    'kong.client.get_consumer': { id: 'c1', username: 'team-a' },
    'kong.client.get_consumer_groups': [{ id: 'g1', name: 'data-science' }],
    'kong.router.get_route': { id: 'r1', name: 'chat', service: { id: 's1' } },
  };

  it('steps llm-proxy through its access phase and forgets the event on "ret"', async () => {
    const id = await startProxy({ provider: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1', consumer_groups: true });
    // llm-proxy with no instance of our other plugins started yet: none can have run, so no ctx.shared lookup;
    // HandleEvent + these 5 (groups asked for in its config); it never publishes its context
    expect(await accessCalls(id, KONG_ANSWERS)).toEqual([
      'kong.client.get_consumer',
      'kong.client.get_consumer_groups',
      'kong.router.get_route',
      'kong.service.set_target',
      'kong.service.request.set_header',
    ]);
    expect((await status()).Events).toBe(0);
  });

  it('remembers the route of a route-scoped llm-proxy instance: get_route once, not on every request', async () => {
    const id = await startProxy({ provider: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1', route_id: 'r1' });
    const first = await accessCalls(id, KONG_ANSWERS);
    const second = await accessCalls(id, KONG_ANSWERS);
    expect(first).toEqual(['kong.client.get_consumer', 'kong.router.get_route', 'kong.service.set_target', 'kong.service.request.set_header']);
    expect(second).toEqual(['kong.client.get_consumer', 'kong.service.set_target', 'kong.service.request.set_header']);
    // an instance scoped to a service (no route_id) asks Kong every time
    const serviceWide = await startProxy({ provider: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1', service_id: 's1' });
    await accessCalls(serviceWide, KONG_ANSWERS);
    expect(await accessCalls(serviceWide, KONG_ANSWERS)).toContain('kong.router.get_route');
  });

  it('looks up the shared context once an instance of another plugin of ours may apply to the route', async () => {
    const proxy = await startProxy({ provider: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1', route_id: 'r1' });
    const start = (name: string, config: Record<string, unknown>) => call('StartInstance', { Name: name, Config: JSON.stringify({ __seq__: 1, ...config }) });
    await start('llm-token-limit', { route_id: 'r2', limits: [{ limit: 1000, window: 'minute' }] }); // another route only
    expect(await accessCalls(proxy, KONG_ANSWERS)).not.toContain('kong.ctx.shared.get');
    await start('llm-token-limit', { limits: [{ limit: 1000, window: 'minute' }] }); // global: applies to every route
    expect((await accessCalls(proxy, KONG_ANSWERS))[0]).toBe('kong.ctx.shared.get');
  });

  it('drops an event Kong never steps again (Lua error or timeout on Kong\'s side)', async () => {
    const id = await startProxy({ provider: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1' });
    const r = (await call('HandleEvent', { InstanceId: id, EventName: 'access' })) as Step;
    expect((await status()).Events).toBe(1);
    await new Promise((res) => setTimeout(res, 500)); // LLM_EVENT_TIMEOUT_MS=300
    expect((await status()).Events).toBe(0);
    await expect(call('Step', { EventId: r.EventId, Data: null })).rejects.toThrow(/no event/);
  });

  it('takes an 8 MB raw body in one Step for well under 50 ms of server CPU', async () => {
    const id = await startProxy({ provider: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1' });
    const body = new Uint8Array(8 * 1024 * 1024).fill(0x7b);
    const costs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = (await call('HandleEvent', { InstanceId: id, EventName: 'access' })) as Step;
      const before = (await status()).CpuMicros;
      const next = (await call('Step', { EventId: r.EventId, Data: body })) as Step; // as Kong sends get_raw_body: bin
      costs.push(((await status()).CpuMicros - before) / 1000);
      expect(next.Data).not.toBe('ret');
    }
    expect(Math.min(...costs)).toBeLessThan(50); // kong-pdk 0.6.0: ~500 ms (O(n²) reassembly)
  }, 20_000);

  it('decodes requests split at any byte boundary, and two requests arriving in one read', async () => {
    const raw = await RpcConnection.connect(socketPath);
    try {
      const bytes = encodeMessage([RPC_REQUEST, 1, 'plugin.GetPluginInfo', ['llm-token-limit']]);
      for (let at = 1; at < bytes.length; at++) {
        const info = (await raw.call('plugin.GetPluginInfo', 'llm-token-limit', { splitAt: [at] })) as { Name: string };
        expect(info.Name).toBe('llm-token-limit');
      }
      const every = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
      expect(((await raw.call('plugin.GetPluginInfo', 'llm-proxy', { splitAt: every })) as { Name: string }).Name).toBe('llm-proxy');
      // never sent by Kong (it does not pipeline), but must not break the server
      const two = Buffer.concat([
        encodeMessage([RPC_REQUEST, 900, 'plugin.GetStatus', [null]]),
        encodeMessage([RPC_REQUEST, 901, 'plugin.GetPluginInfo', ['llm-proxy']]),
      ]);
      await raw.sendRaw(two);
      const answers = [await raw.readMessage(2_000), await raw.readMessage(2_000)] as unknown[][];
      expect(answers.map((a) => a[1]).sort()).toEqual([900, 901]);
    } finally {
      raw.close();
    }
  });

  it('answers unknown namespaces and methods with an error, and stays up', async () => {
    await expect(conn.call('foo.Bar', null)).rejects.toThrow('RPC for foo is not supported');
    await expect(call('Nope', null)).rejects.toThrow('method Nope not implemented');
    expect((await status()).Pid).toBe(server.pid);
  });

  it('never logs arguments, headers or bodies, even at debug level', async () => {
    const id = await startProxy({ provider: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1', auth: { api_key: SECRET } });
    await startProxy({ provider: 'nope', auth: { api_key: SECRET } });
    const r = (await call('HandleEvent', { InstanceId: id, EventName: 'access' })) as Step;
    await call('StepError', { EventId: r.EventId, Data: `lua error near ${SECRET}` });
    await expect(call('StartInstance', { Name: 'llm-proxy', Config: `{"auth":{"api_key":"${SECRET}"` })).rejects.toThrow('not valid JSON');
    await new Promise((res) => setTimeout(res, 100));
    expect(server.lines.length).toBeGreaterThan(0);
    expect(server.lines.join('\n')).not.toContain(SECRET);
  });

  it('gives instance ids that a restarted server never reuses, and a new serverPid', async () => {
    const oldId = await startProxy({ provider: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1' });
    const oldPid = server.pid;
    server.kill('SIGKILL');
    await server.waitForRespawn(oldPid);
    conn.close();
    conn = await RpcConnection.connect(socketPath);
    await expect(call('HandleEvent', { InstanceId: oldId, EventName: 'access' })).rejects.toThrow(`no plugin instance #${oldId}`);
    expect(conn.notifications[0]).toEqual({ label: 'serverPid', args: server.pid });
    expect(server.pid).not.toBe(oldPid);
    const newId = await startProxy({ provider: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1' });
    expect(newId).toBeGreaterThan(oldId);
  }, 20_000);

  it('shuts down cleanly on SIGTERM: exit code 0, socket removed', async () => {
    conn.close();
    await server.stop();
    expect(server.exits.at(-1)).toMatchObject({ code: 0 });
    expect(existsSync(socketPath)).toBe(false);
  });
});

describe('query command (Kong\'s pluginserver query_cmd)', () => {
  const NAMES = ['llm-pii-guard', 'llm-semantic-cache', 'llm-token-limit', 'llm-cost-attribution', 'llm-proxy'];

  it.each(NAMES)('prints the info JSON of %s alone, and nothing else on stdout', async (name) => {
    const { stdout } = await run(process.execPath, [CLI, 'dump', '--plugin', name], { env: { ...process.env, LLM_LOG_LEVEL: 'debug' } });
    expect(stdout.endsWith('\n')).toBe(true);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const dump = JSON.parse(stdout);
    expect(dump).toHaveLength(1); // Kong ≥ 3.9 registers only the first entry
    const [info] = dump;
    expect(info).toMatchObject({ Name: name, Phases: ['access'], Schema: { name, fields: [{ config: { type: 'record' } }] } });
    expect(info.Version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Number.isInteger(info.Priority)).toBe(true);
  });

  it('prints all five plugins in priority order for Kong ≤ 3.8', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'dump']);
    const dump = JSON.parse(stdout) as { Name: string; Priority: number }[];
    expect(dump.map((p) => p.Name)).toEqual(NAMES);
    expect(dump.map((p) => p.Priority)).toEqual([...dump.map((p) => p.Priority)].sort((a, b) => b - a));
  });

  it('fails with a message on stderr and an empty stdout for an unknown plugin', async () => {
    const result = await run(process.execPath, [CLI, 'dump', '--plugin', 'ai-proxy']).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect((result as { stderr: string }).stderr).toContain('unknown plugin ai-proxy');
  });
});
