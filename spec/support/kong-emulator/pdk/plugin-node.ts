import { checkPhase, PHASES, type PdkFunction } from './context';

export const pluginNodePdk: Record<string, PdkFunction> = {
  'kong.plugin.get_id': (ctx) => (checkPhase(ctx, PHASES.withCtx), ctx.plugin.id),
  'kong.node.get_id': (ctx) => ctx.env.nodeId,
  'kong.node.get_hostname': () => 'kong-emulator',
};
