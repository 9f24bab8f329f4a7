import { relayPlugin } from '../runtime/registration-plugin';
import { piiGuardSchema } from './schema';
import { piiGuardStage } from './stage';

/** Finds PII and secrets in prompts (and answers): block, redact, or pseudonymize and restore, also while streaming. */
export const configSchema = piiGuardSchema;

export const llmPiiGuard = relayPlugin({
  name: 'llm-pii-guard',
  version: '0.2.0',
  priority: 774,
  configSchema,
  relayStage: (config) => piiGuardStage(config),
});
