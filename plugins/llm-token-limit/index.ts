import type { IdentityNeed } from '../runtime/plugin-definition';
import { relayPlugin } from '../runtime/registration-plugin';
import { tokenLimitSchema, type TokenLimitConfig } from './schema';
import { tokenLimitStage } from './stage';

/**
 * Token budgets checked before the call with a real tokenizer, reserved atomically on every matching limit,
 * and settled with the provider's actual usage after it (docs/llm-token-limit.md).
 */
export const configSchema = tokenLimitSchema;

export const llmTokenLimit = relayPlugin({
  name: 'llm-token-limit',
  version: '0.2.0',
  priority: 772,
  configSchema,
  relayStage: (config: TokenLimitConfig) => tokenLimitStage(config),
  identityNeeds: (config: TokenLimitConfig) => identityNeeds(config),
});

/** llm-proxy reads the credential and consumer groups from Kong only when a limit counts by them. */
function identityNeeds(config: TokenLimitConfig): IdentityNeed[] {
  const by = new Set(config.limits.flatMap((l) => l.by));
  const needs: IdentityNeed[] = [];
  if (by.has('credential')) needs.push('credential');
  if (by.has('consumer_group')) needs.push('consumer_groups');
  return needs;
}

export { tokenLimitStage } from './stage';
export type { TokenLimitAnnotation, LimitReport, TokenLimitDeps } from './stage';
export { tokenLimitMetrics } from './metrics';
export type { TokenLimitConfig } from './schema';
