import { checkPhase, PHASES, type PdkFunction } from './context';

export const routerPdk: Record<string, PdkFunction> = {
  'kong.router.get_route': (ctx) => (checkPhase(ctx, PHASES.router), ctx.req.route),
  'kong.router.get_service': (ctx) => (checkPhase(ctx, PHASES.router), ctx.req.service),
};
