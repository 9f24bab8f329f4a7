import { LuaError } from '../lua';
import type { KongLog } from '../kong-log';
import type { KongRequest, Phase, SavedForLater } from '../request-state';

export type KongVersion = '3.8' | '3.9' | '3.10';

/** Emulator-wide data the PDK reads: entities for load_consumer, node id, version. */
export interface PdkEnvironment {
  kongVersion: KongVersion;
  nodeId: string;
  log: KongLog;
  findConsumer(idOrUsername: string, byUsername: boolean): Record<string, unknown> | undefined;
  consumerGroupsOf(consumerId: string): Record<string, unknown>[];
  clientBodyBufferSize: number;
}

/** What an emulated PDK function sees: the request, the running phase and plugin, the log timer's saved data. */
export interface PdkContext {
  req: KongRequest;
  phase: Phase;
  plugin: { id: string; name: string };
  /** Set while the log phase runs in its timer (plugin.lua save_for_later). */
  saved: SavedForLater | undefined;
  env: PdkEnvironment;
}

export type PdkFunction = (ctx: PdkContext, ...args: unknown[]) => unknown;

/**
 * kong.response.exit/error ended the event: in access the coroutine yields for good (delayed response), elsewhere
 * ngx.exit() ends the request. Either way Kong sends no further Step for this event.
 */
export class EventEnded extends Error {
  override readonly name = 'EventEnded';
}

const PHASE_BITS: [string, number][] = [
  ['init_worker', 0x1],
  ['certificate', 0x2],
  ['client_hello', 0x8],
  ['rewrite', 0x10],
  ['access', 0x20],
  ['balancer', 0x40],
  ['response', 0x80],
  ['cluster_listener', 0x100],
  ['header_filter', 0x200],
  ['body_filter', 0x400],
  ['log', 0x2000],
  ['preread', 0x4000],
  ['error', 0x1000000],
  ['admin_api', 0x10000000],
];

export const PHASES = {
  request: ['rewrite', 'access', 'balancer', 'response', 'header_filter', 'body_filter', 'log', 'error', 'admin_api', 'cluster_listener'],
  beforeContent: ['rewrite', 'access', 'response', 'error', 'admin_api'],
  headerBodyLog: ['response', 'header_filter', 'body_filter', 'log', 'error', 'admin_api'],
  rewriteAccessHeader: ['rewrite', 'access', 'response', 'balancer', 'header_filter', 'error', 'admin_api'],
  authAndLater: ['access', 'header_filter', 'response', 'body_filter', 'log'],
  accessAndRewrite: ['rewrite', 'access'],
  router: ['access', 'header_filter', 'response', 'body_filter', 'log'],
  withCtx: ['rewrite', 'access', 'header_filter', 'response', 'body_filter', 'log'],
  serviceResponse: ['response', 'header_filter', 'body_filter', 'log'],
  setTarget: ['rewrite', 'access', 'balancer', 'preread'],
  access: ['access'],
  log: ['log'],
} satisfies Record<string, string[]>;

/** kong.pdk.private.phases check_phase, with Kong's error text. */
export function checkPhase(ctx: PdkContext, accepted: string[]): void {
  if (accepted.includes(ctx.phase)) return;
  const names = PHASE_BITS.filter(([n]) => accepted.includes(n)).map(([n]) => n);
  throw new LuaError(`function cannot be called in ${ctx.phase} phase (only in: ${names.join(', ')})`);
}

/** ngx.req / ngx.var are unavailable in the log timer: Kong's exposed_api overrides are the only safe calls. */
export function requireRequestContext(ctx: PdkContext): void {
  if (ctx.saved) throw new LuaError('API disabled in the context of ngx.timer');
}
