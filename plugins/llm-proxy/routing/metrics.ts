import { BREAKER_STATE_VALUE, breakerStates } from './breaker';
import { allQueues } from './queue';
import { PRIORITIES } from './schema';

const quote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

/**
 * Prometheus text of the routing state, read at scrape time (breakers and queues are shared by the whole process),
 * appended to the plugin server's /metrics. Targets are labelled provider|base_url|model.
 */
export function routingMetricsText(now = Date.now()): string {
  const queues = allQueues();
  const lines = [
    '# HELP llm_circuit_breaker_state Circuit breaker of each llm-proxy target: 0 closed, 1 half-open, 2 open.',
    '# TYPE llm_circuit_breaker_state gauge',
    ...breakerStates(now).map((b) => `llm_circuit_breaker_state{target=${quote(b.target)}} ${BREAKER_STATE_VALUE[b.state]}`),
    '# HELP llm_queue_depth Requests waiting for a free slot of an llm-proxy target, by priority class.',
    '# TYPE llm_queue_depth gauge',
    ...queues.flatMap((q) => PRIORITIES.map((p) => `llm_queue_depth{target=${quote(q.key)},priority="${p}"} ${q.depth(p)}`)),
    '# HELP llm_in_flight_requests Requests in flight to each llm-proxy target.',
    '# TYPE llm_in_flight_requests gauge',
    ...queues.map((q) => `llm_in_flight_requests{target=${quote(q.key)}} ${q.inFlight}`),
  ];
  return `${lines.join('\n')}\n`;
}
