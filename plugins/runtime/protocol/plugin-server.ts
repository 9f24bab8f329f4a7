import { log, errorMessage } from '../logger';
import { Pdk } from '../pdk';
import { suiteRuntime } from '../suite-runtime';
import type { PluginDefinition } from '../plugin-definition';
import { parsePluginConfig, formatIssues } from '../config/normalize';
import { kongSchemaFor } from '../config/zod-to-kong';
import { EventChannel, PdkError, type StepData } from './events';
import { InstanceTable, noInstanceError, type Instance } from './instances';
import { kongScopeOf } from '../kong-scope';

/** What a plugin looks like to Kong (the query command's output and GetPluginInfo). */
export interface PluginInfo {
  Name: string;
  Version: string;
  Priority: number;
  Phases: string[];
  Schema: unknown;
}

export function pluginInfo(def: PluginDefinition): PluginInfo {
  return { Name: def.name, Version: def.version, Priority: def.priority, Phases: ['access'], Schema: kongSchemaFor(def) };
}

interface LiveEvent {
  channel: EventChannel;
  timer: NodeJS.Timeout | undefined;
}

export interface PluginServerOptions {
  /** How long an event may wait for Kong's next Step before it is dropped (Kong's own socket timeout is 60 s). */
  eventTimeoutMs?: number;
  firstInstanceId?: number;
}

type StepArg = { EventId: number; Data: unknown };

/** Kong picks a typed Step per PDK method (mp_rpc.lua get_step_method); all carry a plain result. */
const STEP_ALIASES = ['StepMultiMap', 'StepService', 'StepConsumer', 'StepRoute', 'StepPlugin', 'StepCredential', 'StepMemoryStats'];

/** The RPC methods Kong calls (msgpack-RPC namespace `plugin`), over any number of plugin definitions. */
export class PluginServer {
  readonly instances: InstanceTable;
  readonly events = new Map<number, LiveEvent>();
  private readonly plugins: Map<string, PluginDefinition>;
  private readonly eventTimeoutMs: number;
  private nextEventId = 1;
  readonly startedAt = Date.now();

  constructor(definitions: PluginDefinition[], opts: PluginServerOptions = {}) {
    this.plugins = new Map(definitions.map((d) => [d.name, d]));
    this.eventTimeoutMs = opts.eventTimeoutMs ?? 60_000;
    this.instances = new InstanceTable(opts.firstInstanceId);
  }

  /** Dispatch table: RPC method name (without `plugin.`) → handler. */
  readonly methods: Record<string, (arg: any) => Promise<unknown>> = {
    GetStatus: async (arg?: { Gc?: boolean }) => {
      if (arg?.Gc === true) fullGc();
      return this.status();
    },
    GetPluginInfo: async (name: string) => {
      const def = this.plugins.get(name);
      if (!def) throw new Error(`unknown plugin ${String(name)}`);
      return pluginInfo(def);
    },
    SetPluginDir: async () => 'ok',
    StartInstance: async (arg: { Name: string; Config: string }) => this.startInstance(arg),
    CloseInstance: async (id: number) => {
      const instance = this.instances.delete(id);
      if (!instance) throw noInstanceError(id);
      return { Name: instance.name, Id: instance.id, Config: instance.rawConfig };
    },
    InstanceStatus: async (id: number) => {
      const instance = this.instances.get(id);
      if (!instance) throw noInstanceError(id);
      return { Name: instance.name, Id: instance.id, Config: instance.rawConfig, StartTime: instance.startTime };
    },
    HandleEvent: async (arg: { InstanceId: number; EventName: string }) => this.handleEvent(arg),
    Step: async (arg: StepArg) => this.step(arg, undefined),
    StepError: async (arg: StepArg) => this.step(arg, String(arg?.Data ?? 'unknown error')),
    ...Object.fromEntries(STEP_ALIASES.map((name) => [name, async (arg: StepArg) => this.step(arg, undefined)])),
  };

  private status() {
    return {
      Pid: process.pid,
      Plugins: Object.fromEntries([...this.plugins.keys()].map((n) => [n, {}])),
      Instances: this.instances.list().map((i) => ({ Name: i.name, Id: i.id, StartTime: i.startTime })),
      Events: this.events.size,
      // diagnostics for tests and benchmarks (Kong never calls GetStatus)
      CpuMicros: cpuMicros(),
      Rss: process.memoryUsage.rss(),
      HeapUsed: process.memoryUsage().heapUsed,
      Contexts: suiteRuntime().contexts.size,
      Tickets: suiteRuntime().tickets.size,
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      Handles: (process as any)._getActiveHandles().length as number,
    };
  }

  private startInstance(arg: { Name: string; Config: string }) {
    const def = arg && this.plugins.get(arg.Name);
    if (!def) throw new Error(`no plugin named ${String(arg?.Name)}`);
    let raw: unknown;
    try {
      // "__proto__" keys are dropped: no config can reach an object's prototype, whatever code merges it later
      raw = JSON.parse(arg.Config, (key, value: unknown) => (key === '__proto__' ? undefined : value));
    } catch {
      throw new Error(`${def.name}: instance config is not valid JSON`);
    }
    const parsed = parsePluginConfig(def, raw);
    const instance = this.instances.add({
      name: def.name,
      scope: kongScopeOf(raw),
      config: parsed.ok ? parsed.config : undefined,
      configError: parsed.ok ? undefined : formatIssues(parsed.issues),
      rawConfig: raw,
      startTime: Date.now() / 1000,
    });
    if (!parsed.ok) log.warn('instance config refused', { plugin: def.name, instance: instance.id, reason: instance.configError });
    else def.warmUp?.(parsed.config);
    return { Name: def.name, Id: instance.id, Config: raw, StartTime: instance.startTime };
  }

  private async handleEvent(arg: { InstanceId: number; EventName: string }): Promise<{ EventId: number; Data: StepData }> {
    const instance = this.instances.get(arg?.InstanceId);
    if (!instance) throw noInstanceError(arg?.InstanceId);
    const def = this.plugins.get(instance.name)!;
    const eventId = this.nextEventId++;
    const channel = new EventChannel(eventId);
    this.events.set(eventId, { channel, timer: undefined });
    if (arg.EventName === 'access') void this.runAccess(def, instance, channel);
    else channel.finish(); // phases we do not implement end at once
    return this.reply(eventId);
  }

  private async runAccess(def: PluginDefinition, instance: Instance, channel: EventChannel): Promise<void> {
    const kong = new Pdk(channel);
    try {
      if (instance.configError !== undefined) {
        await kong.response.exit(500, misconfiguredBody(def.name, instance.configError), { 'Content-Type': 'application/json' });
      } else {
        await def.access(kong, instance.config, instance.info);
      }
    } catch (err) {
      // A PdkError carries Kong's error text, which may quote request data: log only which call failed.
      const detail = err instanceof PdkError ? { failed_call: err.method } : { error: errorMessage(err) };
      if (!channel.ended) log.warn('plugin handler failed', { plugin: def.name, phase: 'access', ...detail });
    } finally {
      channel.finish();
    }
  }

  private async step(arg: StepArg, error: string | undefined) {
    const live = this.events.get(arg?.EventId);
    if (!live) throw new Error(`no event #${String(arg?.EventId)}`);
    if (live.timer) clearTimeout(live.timer);
    live.timer = undefined;
    live.channel.deliver(arg.Data, error);
    return this.reply(arg.EventId);
  }

  /** Waits for the handler's next PDK call (or its end) and forgets the event once Kong will not step it again. */
  private async reply(eventId: number): Promise<{ EventId: number; Data: StepData }> {
    const live = this.events.get(eventId)!;
    const data = await live.channel.next();
    if (data === 'ret' || live.channel.isNonReturning) {
      this.events.delete(eventId);
    } else {
      live.timer = setTimeout(() => this.expire(eventId), this.eventTimeoutMs);
      live.timer.unref();
    }
    return { EventId: eventId, Data: data };
  }

  private expire(eventId: number): void {
    const live = this.events.get(eventId);
    if (!live) return;
    this.events.delete(eventId);
    live.channel.end('Kong did not answer in time');
    log.warn('event dropped: no step from Kong', { event_id: eventId, timeout_ms: this.eventTimeoutMs });
  }

  /** Ends every event (shutdown). */
  close(): void {
    for (const [id, live] of this.events) {
      if (live.timer) clearTimeout(live.timer);
      live.channel.end('plugin server stopping');
      this.events.delete(id);
    }
  }
}

/**
 * An error body both SDK families parse: OpenAI's clients read `error.message`, Anthropic's need
 * `type: "error"` and `error.type`. Used where the client's API is not known (Kong-side answers).
 */
export function misconfiguredBody(plugin: string, reason: string): string {
  return JSON.stringify({
    type: 'error',
    error: { type: 'api_error', code: 'gateway_misconfigured', message: `${plugin} is misconfigured: ${reason}` },
  });
}

/**
 * `GetStatus {Gc: true}` on a server started with node's --expose-gc (the memory benchmark) runs a full garbage
 * collection first, so that HeapUsed is the live heap: its trend tells a leak from V8 letting the heap grow.
 */
function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === 'function') gc();
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}
