import { SuiteMetrics, serveMetrics } from '../../plugins/runtime/metrics';
import { emitUsageEvent, type UsageEvent } from '../../plugins/runtime/usage-events';
import type { AddressInfo } from 'node:net';
import { usageEvent } from '../observability/events';

const event = (over: Partial<UsageEvent>): UsageEvent => usageEvent({ request_id: 'r', consumer: undefined, consumer_groups: [], route: undefined, ...over });

describe('metrics', () => {
  it('derives Kong-compatible AI series and suite series from usage events, on a loopback endpoint', async () => {
    const metrics = new SuiteMetrics(() => ({ missing: 2, reused: 1 }));
    const server = await serveMetrics(metrics, '127.0.0.1', 0);
    try {
      emitUsageEvent(event({}));
      emitUsageEvent(event({ stream: true, cost: { usd: '0.250000', micro_usd: 250_000 }, pii: { by_type: { email: { pseudonymize: 2 } } } }));
      emitUsageEvent(
        event({ status: 429, answered_by: 'llm-token-limit', usage: undefined, ttft_ms: undefined, token_limit: { decision: 'rejected', rejected_by: 'team-minute' } }),
      );
      const { port } = server.address() as AddressInfo;
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const labels = 'ai_provider="openai",ai_model="gpt-4o-mini",cache_status="",vector_db="",embeddings_provider="",embeddings_model="",workspace="default"';
      expect(text).toContain(`kong_ai_llm_requests_total{${labels}} 3`);
      expect(text).toContain(`kong_ai_llm_tokens_total{${labels},token_type="prompt_tokens"} 20`);
      expect(text).toContain(`kong_ai_llm_cost_total{${labels}} 0.25`);
      expect(text).toContain(`kong_ai_llm_provider_latency_ms_count{${labels}} 2`);
      expect(text).toContain('llm_suite_requests_total{api="openai-chat",status="429",answered_by="llm-token-limit",error_code=""} 1');
      expect(text).toContain('llm_suite_relay_rejections_total{reason="missing"} 2');
      expect(text).toContain('llm_suite_pii_entities_total{type="email",action="pseudonymize",where="request"} 2');
      expect(text).toContain('llm_suite_policy_decisions_total{plugin="token_limit",decision="rejected",rule="team-minute"} 1');
      expect(text).toContain('llm_suite_process_nodejs_eventloop_lag_seconds');
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      server.close();
      metrics.close();
    }
  });
});
