import { relayPlugin } from '../runtime/registration-plugin';
import { costConfigSchema } from './schema';
import { costStage } from './stage';

/**
 * Cost per request from a versioned price catalog, attribution to consumers, groups, routes and tags, money budgets
 * with hard caps (reserve the worst case, settle the actual cost), alerts and per-day spend aggregates for reports.
 */
export const configSchema = costConfigSchema;

export const llmCostAttribution = relayPlugin({
  name: 'llm-cost-attribution',
  version: '0.3.0',
  priority: 771,
  configSchema,
  relayStage: (config) => costStage(config),
  // groups cost llm-proxy a PDK call (and exist on Kong Enterprise only): read them when a budget counts by them
  identityNeeds: (config) => (config.budgets.some((b) => b.by.includes('consumer_group')) ? ['consumer_groups'] : []),
});
