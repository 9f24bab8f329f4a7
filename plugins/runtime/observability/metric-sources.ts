import { costMetricsText } from '../../llm-cost-attribution/metrics';
import { routingMetricsText } from '../../llm-proxy/routing/metrics';
import { cacheMetricsText } from '../../llm-semantic-cache/metrics';
import { tokenLimitMetricsText } from '../../llm-token-limit/metrics';

/** The Prometheus text of the plugins that keep their own series, appended to the plugin server's /metrics. */
export const PLUGIN_METRICS_TEXTS: (() => string)[] = [costMetricsText, tokenLimitMetricsText, routingMetricsText, () => cacheMetricsText()];
