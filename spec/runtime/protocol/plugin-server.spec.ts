import { z } from 'zod';
import { PluginServer } from '../../../plugins/runtime/protocol/plugin-server';
import type { PluginDefinition, PluginName } from '../../../plugins/runtime/plugin-definition';
import type { Pdk } from '../../../plugins/runtime/pdk';

/** Test plugins exercising the event lifecycle; names are the suite's so the definitions type-check. */
function testPlugin(name: PluginName, access: (kong: Pdk, config: { mode: string }) => Promise<void>): PluginDefinition {
  return {
    name,
    version: '0.0.1',
    priority: 1,
    configSchema: z.object({ mode: z.string().default('x').describe('what the test plugin does') }),
    access: access as PluginDefinition['access'],
  };
}

const seen: unknown[] = [];
const exiter = testPlugin('llm-pii-guard', async (kong) => {
  await kong.response.exit(429, '{"error":{"message":"no"}}', { 'Content-Type': 'application/json' });
});
const caller = testPlugin('llm-proxy', async (kong) => {
  seen.push(await kong.ctxShared.get('a'));
  seen.push(await kong.router.getRoute().catch((e: Error) => `caught: ${e.message}`));
});

async function startInstance(server: PluginServer, name: string): Promise<number> {
  const r = (await server.methods.StartInstance({ Name: name, Config: JSON.stringify({ mode: 'x', __seq__: 1, route_id: null }) })) as { Id: number };
  return r.Id;
}

describe('PluginServer instances', () => {
  it('warms a plugin up when Kong starts an instance with a valid config, not with a refused one', async () => {
    const warmed: unknown[] = [];
    const server = new PluginServer([{ ...exiter, warmUp: (config: unknown) => void warmed.push(config) }]);
    await startInstance(server, 'llm-pii-guard');
    expect(warmed).toEqual([{ mode: 'x' }]);
    await server.methods.StartInstance({ Name: 'llm-pii-guard', Config: JSON.stringify({ mode: 7 }) });
    expect(warmed).toHaveLength(1);
  });
});

describe('PluginServer events', () => {
  it('leaves no event behind after 10,000 kong.response.exit', async () => {
    const server = new PluginServer([exiter]);
    const id = await startInstance(server, 'llm-pii-guard');
    for (let i = 0; i < 10_000; i++) {
      const r = (await server.methods.HandleEvent({ InstanceId: id, EventName: 'access' })) as { Data: { Method: string } };
      expect(r.Data.Method).toBe('kong.response.exit');
    }
    expect(server.events.size).toBe(0);
  });

  it('steps a handler through its PDK calls and forgets the event on "ret"', async () => {
    const server = new PluginServer([caller]);
    const id = await startInstance(server, 'llm-proxy');
    seen.length = 0;
    const first = (await server.methods.HandleEvent({ InstanceId: id, EventName: 'access' })) as { EventId: number; Data: unknown };
    expect(first.Data).toEqual({ Method: 'kong.ctx.shared.get', Args: ['a'] });
    const second = (await server.methods.Step({ EventId: first.EventId, Data: 'v1' })) as { Data: unknown };
    expect(second.Data).toEqual({ Method: 'kong.router.get_route', Args: [] });
    const last = (await server.methods.StepError({ EventId: first.EventId, Data: 'boom' })) as { Data: unknown };
    expect(last.Data).toBe('ret');
    expect(seen).toEqual(['v1', 'caught: PDK method kong.router.get_route failed: boom']);
    expect(server.events.size).toBe(0);
    await expect(server.methods.Step({ EventId: first.EventId, Data: null })).rejects.toThrow(/no event/);
  });

  it('drops an event Kong never steps again (Lua error, Kong timeout) after the event timeout', async () => {
    const server = new PluginServer([caller], { eventTimeoutMs: 50 });
    const id = await startInstance(server, 'llm-proxy');
    seen.length = 0;
    const first = (await server.methods.HandleEvent({ InstanceId: id, EventName: 'access' })) as { EventId: number };
    expect(server.events.size).toBe(1);
    await new Promise((r) => setTimeout(r, 120));
    expect(server.events.size).toBe(0);
    await expect(server.methods.Step({ EventId: first.EventId, Data: 'late' })).rejects.toThrow(/no event/);
  });

  it('answers every Step alias Kong uses', async () => {
    const server = new PluginServer([caller]);
    const id = await startInstance(server, 'llm-proxy');
    for (const alias of ['StepMultiMap', 'StepService', 'StepConsumer', 'StepRoute', 'StepPlugin', 'StepCredential', 'StepMemoryStats']) {
      const first = (await server.methods.HandleEvent({ InstanceId: id, EventName: 'access' })) as { EventId: number };
      const next = (await server.methods[alias]({ EventId: first.EventId, Data: { x: [] } })) as { Data: unknown };
      expect(next.Data).toEqual({ Method: 'kong.router.get_route', Args: [] });
      await server.methods.Step({ EventId: first.EventId, Data: '{}' });
    }
    expect(server.events.size).toBe(0);
  });

  it('ends phases a plugin does not implement at once', async () => {
    const server = new PluginServer([caller]);
    const id = await startInstance(server, 'llm-proxy');
    const r = (await server.methods.HandleEvent({ InstanceId: id, EventName: 'log' })) as { Data: unknown };
    expect(r.Data).toBe('ret');
    expect(server.events.size).toBe(0);
  });
});

describe('PluginServer instances', () => {
  it('never reuses instance ids, not even in a later process', async () => {
    const a = new PluginServer([caller]);
    const idsA = [await startInstance(a, 'llm-proxy'), await startInstance(a, 'llm-proxy')];
    await new Promise((r) => setTimeout(r, 5));
    const b = new PluginServer([caller]); // a restarted server
    const idB = await startInstance(b, 'llm-proxy');
    expect(idsA[1]).toBe(idsA[0] + 1);
    expect(idB).toBeGreaterThan(idsA[1]);
    await expect(b.methods.HandleEvent({ InstanceId: idsA[0], EventName: 'access' })).rejects.toThrow(/no plugin instance/);
    expect(Number.isSafeInteger(idB)).toBe(true);
  });

  it('closes instances and reports unknown ones the way Kong expects ("no plugin instance")', async () => {
    const server = new PluginServer([caller]);
    const id = await startInstance(server, 'llm-proxy');
    expect(await server.methods.CloseInstance(id)).toMatchObject({ Name: 'llm-proxy', Id: id });
    await expect(server.methods.CloseInstance(id)).rejects.toThrow(`no plugin instance #${id}`);
    await expect(server.methods.HandleEvent({ InstanceId: id, EventName: 'access' })).rejects.toThrow('no plugin instance');
  });

  it('answers a refused configuration with a 500 naming the field, in a shape both SDK families parse', async () => {
    const server = new PluginServer([caller]);
    const r = (await server.methods.StartInstance({ Name: 'llm-proxy', Config: JSON.stringify({ mode: 5 }) })) as { Id: number };
    const ev = (await server.methods.HandleEvent({ InstanceId: r.Id, EventName: 'access' })) as { Data: { Method: string; Args: [number, string] } };
    expect(ev.Data.Method).toBe('kong.response.exit');
    expect(ev.Data.Args[0]).toBe(500);
    const body = JSON.parse(ev.Data.Args[1]);
    expect(body.type).toBe('error');
    expect(body.error.message).toMatch(/llm-proxy is misconfigured: .*mode/);
    expect(server.events.size).toBe(0);
  });

  it('refuses unknown plugins and non-JSON configs with a clear error', async () => {
    const server = new PluginServer([caller]);
    await expect(server.methods.StartInstance({ Name: 'nope', Config: '{}' })).rejects.toThrow('no plugin named nope');
    await expect(server.methods.StartInstance({ Name: 'llm-proxy', Config: '{' })).rejects.toThrow('not valid JSON');
  });
});
