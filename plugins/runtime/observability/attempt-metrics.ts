import { Counter, type Registry } from 'prom-client';
import type { UsageEvent } from '../usage-events';
import { attemptFailed, providerAttempts } from './usage-summary';

/**
 * Provider attempts and fallbacks, from llm-proxy's `attempts` list in the usage event: each call to a provider
 * (outcome success or failed, with llm-proxy's reason), and each request answered by another target than the first.
 */
export function attemptMetrics(registry: Registry): (e: UsageEvent) => void {
  const attempts = new Counter({
    name: 'llm_suite_provider_attempts_total',
    help: 'Calls to providers by llm-proxy (retries and fallbacks included), by outcome and the reason a call failed',
    labelNames: ['ai_provider', 'ai_model', 'outcome', 'reason'],
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: 'llm_suite_fallbacks_total',
    help: 'Requests answered after at least one failed provider attempt, by the provider and model that answered',
    labelNames: ['ai_provider', 'ai_model'],
    registers: [registry],
  });
  return (e) => {
    const list = providerAttempts(e);
    for (const a of list) {
      const failed = attemptFailed(a);
      attempts.inc({ ai_provider: a.provider ?? '', ai_model: a.model ?? '', outcome: failed ? 'failed' : 'success', reason: failed ? (a.reason ?? String(a.status ?? '')) : '' });
    }
    if (list.length > 1 && e.status > 0 && e.status < 400) fallbacks.inc({ ai_provider: e.provider ?? '', ai_model: e.model ?? '' });
  };
}
