import { PLUGINS } from '../../registry';
import { preloadBuiltinEmbedder } from '../../llm-semantic-cache/embedders/builtin';
import { closeWebhookSenders } from '../../llm-cost-attribution/webhook';
import { log, errorMessage } from '../logger';
import { PluginServer } from '../protocol/plugin-server';
import { RpcListener } from '../protocol/rpc-listener';
import { RelayServer } from '../relay/relay-server';
import { closeSuiteRuntime, suiteRuntime } from '../suite-runtime';
import { closePluginStores } from '../store/plugin-store';
import { installUsageLogFromEnv } from '../usage-events';
import { installUsageSinksFromEnv } from '../usage-sinks/from-env';
import { SuiteMetrics, serveMetrics } from '../metrics';
import { startDashboardFromEnv } from '../observability/dashboard-server';
import { PLUGIN_METRICS_TEXTS } from '../observability/metric-sources';
import { installTracingFromEnv } from '../observability/tracing';

export interface ServeOptions {
  socketPath: string;
  relayPort?: number;
  eventTimeoutMs?: number;
}

/** The plugin server process: Kong's RPC socket for all five plugins, plus the relay on loopback. */
export async function serve(opts: ServeOptions): Promise<void> {
  const runtime = suiteRuntime();
  const usageLog = installUsageLogFromEnv();
  const usageSinks = installUsageSinksFromEnv();
  const tracing = installTracingFromEnv();
  const server = new PluginServer(PLUGINS, { eventTimeoutMs: opts.eventTimeoutMs ?? (Number(process.env.LLM_EVENT_TIMEOUT_MS) || 60_000) });
  const relay = new RelayServer(runtime.tickets, PLUGINS, { port: opts.relayPort });
  runtime.relay = await relay.listen();
  preloadFromEnv();
  const listener = new RpcListener(opts.socketPath, server.methods);
  await listener.listen();
  const metrics = new SuiteMetrics(() => runtime.tickets.rejections, PLUGIN_METRICS_TEXTS, () => usageSinks.stats());
  const metricsServer = await startMetrics(metrics);
  const dashboard = await startDashboardFromEnv();
  log.info('plugin server ready', { pid: process.pid, plugins: PLUGINS.length, relay_port: runtime.relay.port });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('plugin server stopping', { signal });
    try {
      await listener.close();
      metricsServer?.close();
      await dashboard?.close();
      metrics.close();
      const graceMs = Number(process.env.LLM_SHUTDOWN_GRACE_MS) || 5_000;
      await relay.close(graceMs);
      await usageSinks.flush(graceMs); // the relay's last usage events
      await usageSinks.close();
      await tracing?.shutdown(); // exports the last spans
      server.close();
      closeWebhookSenders();
      await closePluginStores();
      closeSuiteRuntime();
      usageLog?.end();
    } catch (err) {
      log.error('shutdown failed', { error: errorMessage(err) });
    }
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('uncaughtException', (err) => log.error('uncaught exception', { error: errorMessage(err) }));
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { error: errorMessage(err) }));
}

/** LLM_PRELOAD_EMBEDDER=builtin: load the semantic cache's built-in model at start (its worker holds ~100 MB). */
function preloadFromEnv(): void {
  const preload = process.env.LLM_PRELOAD_EMBEDDER;
  if (!preload) return;
  if (preload !== 'builtin') {
    log.warn('LLM_PRELOAD_EMBEDDER ignored: only "builtin" can be preloaded', { value: preload.slice(0, 40) });
    return;
  }
  const started = Date.now();
  preloadBuiltinEmbedder().then(
    (dimensions) => log.info('built-in embedder preloaded', { dimensions, ms: Date.now() - started }),
    (err: unknown) => log.warn('built-in embedder preload failed', { error: errorMessage(err) }),
  );
}

/** LLM_METRICS_PORT (default 9542; 0 = any free port; "off" = none) on LLM_METRICS_HOST (default 127.0.0.1). */
async function startMetrics(metrics: SuiteMetrics) {
  const port = process.env.LLM_METRICS_PORT ?? '9542';
  if (port === 'off') return undefined;
  try {
    return await serveMetrics(metrics, process.env.LLM_METRICS_HOST || '127.0.0.1', Number(port));
  } catch (err) {
    log.warn('metrics endpoint not started', { port, error: errorMessage(err) });
    return undefined;
  }
}
