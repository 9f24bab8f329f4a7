import { cjsonEncode, isPlainObject, LuaError, luaToString } from '../lua';
import type { KongLogLevel } from '../kong-log';
import { serializeRequest } from '../serialize';
import { checkPhase, PHASES, type PdkContext, type PdkFunction } from './context';

function logAt(level: KongLogLevel): PdkFunction {
  return (ctx, ...args) => {
    ctx.env.log.write(level, args.map(luaToString).join(''), { worker: ctx.req.worker.id, plugin: ctx.plugin.name });
    return null;
  };
}

const setSerializeValue: PdkFunction = (ctx, key, value, options) => {
  checkPhase(ctx, PHASES.withCtx);
  if (typeof key !== 'string') throw new LuaError('key must be a string');
  const mode = (isPlainObject(options) && options.mode) || 'set';
  if (mode !== 'set' && mode !== 'add' && mode !== 'replace') throw new LuaError("mode must be 'set', 'add' or 'replace'");
  // in the log timer ngx.ctx is the saved shallow clone: the record logging plugins got is already built
  const target = ctx.saved ? ctx.saved.ngxCtx : undefined;
  const entry = { key, value: value ?? undefined, mode: mode as 'set' | 'add' | 'replace' };
  if (target) ((target.serialize_values as unknown[] | undefined) ?? (target.serialize_values = [])).push(entry);
  else (ctx.req.serializeValues ??= []).push(entry);
  return null;
};

/** Kong's exposed_api override: the saved record in the log timer, else kong.log.serialize() (log phase only). */
const serialize: PdkFunction = (ctx: PdkContext) => {
  if (ctx.saved) return cjsonEncode(ctx.saved.serializeData, true);
  checkPhase(ctx, PHASES.log);
  return cjsonEncode(serializeRequest(ctx.req, ctx.env.kongVersion === '3.10'), true);
};

export const logPdk: Record<string, PdkFunction> = {
  'kong.log.debug': logAt('debug'),
  'kong.log.info': logAt('info'),
  'kong.log.notice': logAt('notice'),
  'kong.log.warn': logAt('warn'),
  'kong.log.err': logAt('err'),
  'kong.log.crit': logAt('crit'),
  'kong.log.alert': logAt('crit'),
  'kong.log.emerg': logAt('crit'),
  'kong.log.set_serialize_value': setSerializeValue,
  'kong.log.serialize': serialize,
};
