import { EMPTY_MAP, isPlainObject, LuaBinary, LuaError, luaString } from '../lua';
import { clientPdk, enterpriseClientPdk } from './client';
import type { KongVersion, PdkContext, PdkFunction } from './context';
import { ctxNginxPdk } from './ctx-nginx';
import { logPdk } from './log';
import { pluginNodePdk } from './plugin-node';
import { requestPdk } from './request';
import { responsePdk } from './response';
import { routerPdk } from './router';
import { servicePdk } from './service';

/** Kong's exposed_api overrides for the log timer (plugin.lua): read the data saved when the log phase began. */
const savedOverrides: Record<string, PdkFunction> = {
  'kong.request.get_headers': (ctx, ...args) => ctx.saved?.requestHeaders ?? requestPdk['kong.request.get_headers'](ctx, ...args),
  'kong.request.get_header': (ctx, name) => {
    if (!ctx.saved) return requestPdk['kong.request.get_header'](ctx, name);
    const v = ctx.saved.requestHeaders[String(name).toLowerCase().replace(/_/g, '-')];
    return Array.isArray(v) ? v[0] : v;
  },
  'kong.response.get_status': (ctx) => ctx.saved?.responseStatus ?? responsePdk['kong.response.get_status'](ctx),
  'kong.response.get_headers': (ctx, ...args) => ctx.saved?.responseHeaders ?? responsePdk['kong.response.get_headers'](ctx, ...args),
  'kong.response.get_header': (ctx, name) => {
    if (!ctx.saved) return responsePdk['kong.response.get_header'](ctx, name);
    const v = ctx.saved.responseHeaders[String(name).toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  },
};

export interface PdkTable {
  /** Kong's rpc/util index_table: the full name among overrides, else the `\w+` segments walked from `kong`. */
  resolve(method: string): PdkFunction | 'namespace' | undefined;
}

export function buildPdk(version: KongVersion): PdkTable {
  const methods: Record<string, PdkFunction> = {
    ...requestPdk,
    ...clientPdk,
    ...(version === '3.10' ? enterpriseClientPdk : {}),
    ...routerPdk,
    ...ctxNginxPdk,
    ...servicePdk,
    ...responsePdk,
    ...logPdk,
    ...pluginNodePdk,
    ...savedOverrides,
  };
  const namespaces = new Set<string>();
  for (const name of Object.keys(methods)) {
    const parts = name.split('.');
    for (let i = 1; i < parts.length; i++) namespaces.add(parts.slice(0, i).join('.'));
  }
  return {
    resolve(method) {
      if (methods[method]) return methods[method];
      const walked = (method.match(/\w+/g) ?? []).join('.');
      if (methods[walked]) return methods[walked];
      return namespaces.has(walked) ? 'namespace' : undefined;
    },
  };
}

/** mp_rpc.lua must_fix: multimaps as name → array (true → [], empty → empty map), raw bodies as bin. */
export function applyFixup(method: string, result: unknown): unknown {
  switch (method) {
    case 'kong.request.get_query':
    case 'kong.request.get_headers':
    case 'kong.response.get_headers':
    case 'kong.service.response.get_headers':
      return fixMultiMap(result);
    case 'kong.request.get_raw_body':
    case 'kong.response.get_raw_body':
    case 'kong.service.response.get_raw_body':
      return fixRaw(result);
    default:
      return result;
  }
}

function fixMultiMap(t: unknown): unknown {
  if (!isPlainObject(t) && !Array.isArray(t)) throw new LuaError("bad argument #1 to 'pairs' (table expected)");
  const entries = Object.entries(t);
  if (entries.length === 0) return EMPTY_MAP;
  return Object.fromEntries(entries.map(([k, v]) => [k, v === true ? [] : typeof v === 'string' ? [v] : v]));
}

function fixRaw(bin: unknown): LuaBinary {
  if (bin instanceof LuaBinary) return bin;
  if (bin instanceof Uint8Array) return new LuaBinary(bin);
  const s = luaString(bin);
  if (s === undefined) throw new LuaError("attempt to get length of local 'str' (a nil value)");
  return new LuaBinary(Buffer.from(s));
}

/** mp_rpc.lua get_step_method. */
export function stepMethodFor(method: string): string {
  switch (method) {
    case 'kong.client.get_credential':
    case 'kong.client.authenticate':
      return 'plugin.StepCredential';
    case 'kong.client.load_consumer':
    case 'kong.client.get_consumer':
      return 'plugin.StepConsumer';
    case 'kong.node.get_memory_stats':
      return 'plugin.StepMemoryStats';
    case 'kong.router.get_route':
      return 'plugin.StepRoute';
    case 'kong.router.get_service':
      return 'plugin.StepService';
    case 'kong.request.get_query':
    case 'kong.request.get_headers':
    case 'kong.response.get_headers':
    case 'kong.service.response.get_headers':
      return 'plugin.StepMultiMap';
    default:
      return 'plugin.Step';
  }
}

export type { PdkContext };
