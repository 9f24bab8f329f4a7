import { LuaError, cjsonEncode } from './lua';
import { ConnectionPool, PluginRpc, RpcCounter } from './rpc-client';
import type { KongLog } from './kong-log';

/** What Kong registered from a plugin server's query output (process.lua query_external_plugin_info). */
export interface ExternalPluginInfo {
  name: string;
  priority: number;
  version: string;
  phases: string[];
  schema: unknown;
  socketPath: string;
}

/** The config table Kong hands to an external plugin: defaults filled plus Kong's extra keys. */
export type PluginConf = Record<string, unknown> & { __plugin_id: string; __seq__: number; __key__: string };

interface InstanceInfo {
  id: number | undefined;
  seq: number;
  conf: PluginConf;
  pluginName?: string;
  rpc?: PluginRpc;
}

const CLAIM_WAIT_STEP_MS = 100;
const CLAIM_WAIT_STEPS = 100; // Kong waits at most 10 s for another coroutine starting the same instance

/** One emulated nginx worker: its own running_instances, Rpc objects (msgid counters) and socket pools. */
export class Worker {
  readonly runningInstances = new Map<string, InstanceInfo>();
  private readonly rpcs = new Map<string, PluginRpc>();
  private readonly pools = new Map<string, ConnectionPool>();

  constructor(
    readonly id: number,
    private readonly options: { timeoutMs: number; counters: () => RpcCounter[]; log: KongLog },
  ) {}

  rpcFor(plugin: ExternalPluginInfo): PluginRpc {
    let rpc = this.rpcs.get(plugin.name);
    if (!rpc) {
      let pool = this.pools.get(plugin.socketPath);
      if (!pool) {
        pool = new ConnectionPool(plugin.socketPath);
        this.pools.set(plugin.socketPath, pool);
      }
      rpc = new PluginRpc(plugin.name, pool, {
        timeoutMs: this.options.timeoutMs,
        counters: this.options.counters,
        onServerPidChanged: (changed) => {
          for (const [key, info] of this.runningInstances) if (info.rpc === changed) this.runningInstances.delete(key);
        },
        log: (level, message) => this.options.log.write(level, message, { worker: this.id }),
      });
      this.rpcs.set(plugin.name, rpc);
    }
    return rpc;
  }

  /** Kong's plugin.lua get_instance_id: reuse iff same seq and plugin id, else StartInstance (+ CloseInstance old). */
  async getInstanceId(plugin: ExternalPluginInfo, conf: PluginConf, counters: RpcCounter[]): Promise<number> {
    const key = conf.__plugin_id;
    let info = this.runningInstances.get(key);
    for (let waited = 0; info && info.id === undefined; waited++) {
      if (waited >= CLAIM_WAIT_STEPS) {
        this.runningInstances.delete(key);
        throw new LuaError(`Could not claim instance_id for ${plugin.name} (key: ${key})`);
      }
      await new Promise((r) => setTimeout(r, CLAIM_WAIT_STEP_MS));
      info = this.runningInstances.get(key);
    }
    if (info && info.id !== undefined && info.seq === conf.__seq__ && info.conf.__plugin_id === key) return info.id;

    const oldId = info?.id;
    if (!info) {
      info = { id: undefined, seq: conf.__seq__, conf };
      this.runningInstances.set(key, info);
    } else {
      info.id = undefined;
    }
    const rpc = this.rpcFor(plugin);
    const started = await rpc.call('plugin.StartInstance', { Name: plugin.name, Config: cjsonEncode(conf, true) }, counters);
    if (!started.ok) {
      this.options.log.write('err', `starting instance: ${started.error}`, { worker: this.id });
      this.runningInstances.delete(key);
      throw new LuaError(started.error);
    }
    const status = started.result as { Id?: number } | null;
    info.id = status?.Id;
    info.pluginName = plugin.name;
    info.conf = conf;
    info.seq = conf.__seq__;
    info.rpc = rpc;
    if (oldId !== undefined) await rpc.call('plugin.CloseInstance', oldId, counters); // errors ignored, as in Kong
    if (info.id === undefined) throw new LuaError('attempt to index a nil value (StartInstance result without Id)');
    return info.id;
  }

  /** reset_instances_for_plugin, run in this worker. */
  resetInstancesForPlugin(pluginName: string): void {
    for (const [key, info] of this.runningInstances) if (info.pluginName === pluginName) this.runningInstances.delete(key);
  }

  close(): void {
    for (const pool of this.pools.values()) pool.closeAll();
  }
}
