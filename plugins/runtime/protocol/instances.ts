import { mayRunOnRoute, type KongScope } from '../kong-scope';
import type { InstanceInfo } from '../plugin-definition';

/**
 * Plugin instances: one per plugin configuration (Kong starts one per plugin entity and config version, per
 * nginx worker). Instances hold only their parsed configuration — nothing that matters is lost when Kong
 * restarts them — so they never expire on their own; Kong closes the ones it replaces.
 *
 * Ids are never reused, not even across a restart of this process: they start from the start time in
 * milliseconds × 1024, so an id cached by a Kong worker from an earlier process can only ever meet
 * "no plugin instance" (and a restart), never another plugin's instance. Ids stay below 2^53 (exact in Lua).
 */
export interface Instance<C = unknown> {
  id: number;
  name: string;
  /** Where Kong applies it (from the meta fields of its raw config). */
  scope: KongScope;
  /** What its access handler is told about it (built once, not on every request). */
  info: InstanceInfo;
  /** The parsed configuration, or why it was refused. */
  config: C | undefined;
  configError: string | undefined;
  /** The raw configuration Kong sent, echoed in StartInstance's reply. */
  rawConfig: unknown;
  startTime: number;
}

export class InstanceTable {
  private readonly instances = new Map<number, Instance>();
  private readonly mayRunAnswers = new Map<string, boolean>();
  private nextId: number;

  constructor(firstId: number = Date.now() * 1024) {
    this.nextId = firstId;
  }

  add(entry: Omit<Instance, 'id' | 'info'>): Instance {
    const id = this.nextId++;
    const info: InstanceInfo = { id, scope: entry.scope, othersMayRunOn: (routeId) => this.anyOtherMayRunOn(entry.name, routeId) };
    const instance = { ...entry, id, info };
    this.instances.set(instance.id, instance);
    this.mayRunAnswers.clear();
    return instance;
  }

  get(id: number): Instance | undefined {
    return this.instances.get(id);
  }

  delete(id: number): Instance | undefined {
    const instance = this.instances.get(id);
    if (this.instances.delete(id)) this.mayRunAnswers.clear();
    return instance;
  }

  get size(): number {
    return this.instances.size;
  }

  list(): Instance[] {
    return [...this.instances.values()];
  }

  /**
   * Whether an instance of another plugin than `except` may run on requests to `routeId`. Asked on every request:
   * answers are remembered until the table changes (Kong starts and closes instances only on configuration changes).
   */
  anyOtherMayRunOn(except: string, routeId: string | undefined): boolean {
    const key = `${except}\u0000${routeId ?? ''}`;
    const known = this.mayRunAnswers.get(key);
    if (known !== undefined) return known;
    let answer = false;
    for (const i of this.instances.values()) {
      if (i.name !== except && mayRunOnRoute(i.scope, routeId)) {
        answer = true;
        break;
      }
    }
    if (this.mayRunAnswers.size >= 10_000) this.mayRunAnswers.clear();
    this.mayRunAnswers.set(key, answer);
    return answer;
  }
}

export function noInstanceError(id: unknown): Error {
  // Kong matches this text to restart the instance and retry (mp_rpc.lua handle_event).
  return new Error(`no plugin instance #${String(id)}`);
}
