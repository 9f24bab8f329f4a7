import { LuaError, luaType } from '../lua';
import { checkPhase, PHASES, requireRequestContext, type PdkFunction } from './context';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const clientPdk: Record<string, PdkFunction> = {
  'kong.client.get_ip': (ctx) => (requireRequestContext(ctx), ctx.req.client.ip),
  'kong.client.get_forwarded_ip': (ctx) => (requireRequestContext(ctx), ctx.req.client.ip),
  'kong.client.get_port': (ctx) => (requireRequestContext(ctx), ctx.req.client.port),
  'kong.client.get_forwarded_port': (ctx) => (requireRequestContext(ctx), ctx.req.client.port),
  'kong.client.get_credential': (ctx) => (checkPhase(ctx, PHASES.authAndLater), ctx.req.authenticatedCredential),
  'kong.client.get_consumer': (ctx) => (checkPhase(ctx, PHASES.authAndLater), ctx.req.authenticatedConsumer),
  'kong.client.load_consumer': (ctx, id, byUsername) => {
    checkPhase(ctx, PHASES.authAndLater);
    if (typeof id !== 'string' || id === '') throw new LuaError('consumer_id must be a string');
    const isUuid = UUID.test(id);
    if (!isUuid && !byUsername) throw new LuaError('cannot load a consumer with an id that is not a uuid');
    return (isUuid ? ctx.env.findConsumer(id, false) : undefined) ?? (byUsername ? ctx.env.findConsumer(id, true) : undefined);
  },
  'kong.client.authenticate': (ctx, consumer, credential) => {
    checkPhase(ctx, PHASES.access);
    if (!['table', 'nil'].includes(luaType(consumer))) throw new LuaError('consumer must be a table or nil');
    if (!['table', 'nil'].includes(luaType(credential))) throw new LuaError('credential must be a table or nil');
    if (consumer == null && credential == null) throw new LuaError('either credential or consumer must be provided');
    ctx.req.authenticatedConsumer = (consumer ?? undefined) as Record<string, unknown> | undefined;
    ctx.req.authenticatedCredential = (credential ?? undefined) as Record<string, unknown> | undefined;
    // Enterprise resolves the consumer's groups on authentication (assumption: EE source is not public)
    const consumerId = (consumer as Record<string, unknown> | null)?.id;
    if (ctx.env.kongVersion === '3.10' && typeof consumerId === 'string') {
      ctx.req.authenticatedGroups = ctx.env.consumerGroupsOf(consumerId);
    }
    return null;
  },
  'kong.client.get_protocol': (ctx) => (checkPhase(ctx, PHASES.authAndLater), 'http'),
};

/** Kong Enterprise only (consumer groups); absent from OSS 3.9, where Kong logs "could not find pdk method". */
export const enterpriseClientPdk: Record<string, PdkFunction> = {
  'kong.client.get_consumer_groups': (ctx) => (checkPhase(ctx, PHASES.authAndLater), ctx.req.authenticatedGroups),
  'kong.client.get_consumer_group': (ctx) => (checkPhase(ctx, PHASES.authAndLater), ctx.req.authenticatedGroups?.[0]),
};
