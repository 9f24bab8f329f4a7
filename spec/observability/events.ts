import type { UsageEvent } from '../../plugins/runtime/usage-events';

/** A successful non-streamed chat completion's usage event; `over` changes what a scenario needs. */
export const usageEvent = (over: Partial<UsageEvent> = {}): UsageEvent => ({
  request_id: `req-${Math.random().toString(36).slice(2, 10)}`,
  time: new Date().toISOString(),
  consumer: { id: 'c-alice', username: 'alice' },
  consumer_groups: ['data-science'],
  route: { id: 'r1', name: 'openai' },
  api: 'openai-chat',
  provider: 'openai',
  model: 'gpt-4o-mini',
  stream: false,
  status: 200,
  usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, estimated: false },
  latency_ms: 120,
  ttft_ms: 40,
  ...over,
});

/** A small mixed set with known totals (see the expectations in usage-summary.spec.ts and top.spec.ts). */
export function mixedEvents(base = Date.parse('2026-11-23T10:00:00Z')): UsageEvent[] {
  const at = (s: number) => new Date(base + s * 1000).toISOString();
  return [
    usageEvent({ time: at(0), latency_ms: 100, cost: { usd: '0.001000', micro_usd: 1000, tags: { team: 'search' } } }),
    usageEvent({ time: at(10), latency_ms: 200, stream: true, ttft_ms: 30, consumer: { id: 'c-bob', username: 'bob' }, model: 'gpt-4o', cost: { usd: '0.002500', micro_usd: 2500, tags: { team: 'ads' } } }),
    usageEvent({ time: at(20), latency_ms: 300, usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150, cached_tokens: 20, estimated: false }, cost: { usd: '0.000500', micro_usd: 500, tags: { team: 'search' } } }),
    usageEvent({ time: at(30), status: 400, answered_by: 'llm-pii-guard', usage: undefined, ttft_ms: undefined, latency_ms: 5 }),
    usageEvent({ time: at(40), status: 429, answered_by: 'llm-token-limit', usage: undefined, ttft_ms: undefined, latency_ms: 3, consumer: { id: 'c-bob', username: 'bob' } }),
    usageEvent({ time: at(70), status: 429, answered_by: 'llm-cost-attribution', usage: undefined, ttft_ms: undefined, latency_ms: 4 }),
    usageEvent({ time: at(80), status: 502, error_code: 'upstream_error', usage: undefined, ttft_ms: undefined, latency_ms: 900 }),
    usageEvent({
      time: at(90),
      latency_ms: 400,
      provider: 'anthropic',
      model: 'claude-3-5-haiku',
      llm_proxy: { attempts: [{ provider: 'openai', model: 'gpt-4o-mini', status: 503, latency_ms: 150, reason: 'upstream_503' }, { provider: 'anthropic', model: 'claude-3-5-haiku', status: 200, latency_ms: 240 }] },
      cost: { usd: '0.001000', micro_usd: 1000, tags: { team: 'ads' } },
    }),
  ];
}
