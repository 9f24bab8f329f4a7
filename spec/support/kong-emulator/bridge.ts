import { LuaError, toWire } from './lua';
import type { ExternalPluginInfo, PluginConf, Worker } from './instances';
import type { KongLog } from './kong-log';
import type { Phase } from './request-state';
import type { RpcCounter } from './rpc-client';
import { EventEnded, type PdkContext } from './pdk/context';
import { applyFixup, stepMethodFor, type PdkTable } from './pdk';

/** Retries after "no plugin instance" (Kong recurses without bound; the emulator stops a runaway server). */
const MAX_INSTANCE_RETRIES = 20;
/** Steps per event before the emulator calls the plugin server broken (Kong has no limit). */
const MAX_STEPS_PER_EVENT = 100_000;

export interface BridgeDeps {
  pdk: PdkTable;
  log: KongLog;
  workers: Worker[];
  /** emulator-wide counters (RPC methods are counted by the Rpc objects; PDK methods here) */
  globalCounters: () => RpcCounter[];
}

type StepIn = { EventId?: unknown; Data?: unknown } | null;

/**
 * Kong's Rpc:handle_event for one plugin and phase. Resolves when the event is over: "ret", an RPC error (logged,
 * fail-open), or kong.response.exit/error (no further Step). Throws LuaError where Kong would raise a Lua error
 * (instance start failure, PDK misuse, protocol assert); the caller maps it per phase.
 */
export async function handleEvent(
  deps: BridgeDeps,
  ctx: PdkContext,
  plugin: ExternalPluginInfo,
  conf: PluginConf,
  phase: Phase,
  counters: RpcCounter[],
): Promise<void> {
  const worker = ctx.req.worker;
  for (let attempt = 0; attempt <= MAX_INSTANCE_RETRIES; attempt++) {
    const instanceId = await worker.getInstanceId(plugin, conf, counters);
    const err = await bridgeLoop(deps, ctx, plugin, instanceId, phase, counters);
    if (err === undefined) return;
    if (err.toLowerCase().includes('no plugin instance')) {
      for (const w of deps.workers) w.resetInstancesForPlugin(plugin.name);
      deps.log.write('warn', err, { worker: worker.id, plugin: plugin.name });
      continue;
    }
    deps.log.write('err', err, { worker: worker.id, plugin: plugin.name });
    return;
  }
  deps.log.write('err', `emulator: gave up after ${MAX_INSTANCE_RETRIES} "no plugin instance" retries`, {
    worker: worker.id,
    plugin: plugin.name,
  });
}

/** mp_rpc.lua bridge_loop; returns the RPC error string, if any. */
async function bridgeLoop(
  deps: BridgeDeps,
  ctx: PdkContext,
  plugin: ExternalPluginInfo,
  instanceId: number,
  phase: Phase,
  counters: RpcCounter[],
): Promise<string | undefined> {
  const rpc = ctx.req.worker.rpcFor(plugin);
  const first = await rpc.call('plugin.HandleEvent', { InstanceId: instanceId, EventName: phase }, counters);
  if (!first.ok) return first.error;
  let stepIn = first.result as StepIn;
  const eventId = stepIn?.EventId;
  for (let steps = 0; steps < MAX_STEPS_PER_EVENT; steps++) {
    if (stepIn?.Data === 'ret') return undefined;
    const call = stepIn?.Data as { Method?: unknown; Args?: unknown } | undefined;
    if (!call || typeof call !== 'object') throw new LuaError("attempt to index field 'Data' (a nil value)");
    const method = String(call.Method);
    for (const c of [...counters, ...deps.globalCounters()]) c.countPdk(method);
    let result: unknown;
    try {
      result = applyFixup(method, await callPdkMethod(deps, ctx, method, call.Args));
    } catch (err) {
      if (err instanceof EventEnded) return undefined;
      throw err;
    }
    const next = await rpc.call(stepMethodFor(method), { EventId: eventId, Data: toWire(result) }, counters);
    if (!next.ok) return next.error;
    stepIn = next.result as StepIn;
  }
  deps.log.write('err', `emulator: event exceeded ${MAX_STEPS_PER_EVENT} steps`, { plugin: plugin.name });
  return undefined;
}

/** mp_rpc.lua call_pdk_method: `method(unpack(args))`, first return value only. */
async function callPdkMethod(deps: BridgeDeps, ctx: PdkContext, method: string, args: unknown): Promise<unknown> {
  const fn = deps.pdk.resolve(method);
  if (fn === undefined) {
    deps.log.write('err', `could not find pdk method: ${method}`, { worker: ctx.req.worker.id, plugin: ctx.plugin.name });
    return null;
  }
  if (fn === 'namespace') throw new LuaError(`attempt to call a table value (${method})`);
  const list = Array.isArray(args) ? args : [args];
  return (await fn(ctx, ...list)) ?? null;
}
