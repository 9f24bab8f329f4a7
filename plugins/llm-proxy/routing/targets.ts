import { PriceBook, shippedPriceCatalog } from '../../llm-cost-attribution/catalog';
import { PROVIDERS } from '../../providers/registry';
import type { ProviderAdapter, ProviderTarget } from '../../providers/types';
import { GatewayError } from '../../runtime/relay/errors';
import type { LlmProxyConfig } from '../schema';
import { ALWAYS_CLOSED, breakerFor, type CircuitBreaker } from './breaker';
import { queueFor, type TargetQueue } from './queue';
import type { LogicalModelConfig, RouteTargetConfig, RoutingRule, Strategy } from './schema';

/** One provider + model a request may go to, with its shared breaker and queue. */
export interface RouteTarget {
  /** Name in rules, headers, metrics and events. */
  name: string;
  /** Identity of the upstream (provider, URL, model): targets with the same key share breaker, queue and latency. */
  key: string;
  adapter: ProviderAdapter;
  config: RouteTargetConfig;
  weight: number;
  /** USD per million tokens (input + output), for the cost strategy; undefined when unknown. */
  price: number | undefined;
  totalMs: number | undefined;
  breaker: CircuitBreaker;
  queue: TargetQueue;
}

/** A logical model (or the implicit route of the top-level settings) ready for routing. */
export interface Route {
  /** Undefined for the implicit route. */
  logicalName: string | undefined;
  strategy: Strategy;
  targets: RouteTarget[];
  rules: { rule: RoutingRule; targets: RouteTarget[] }[];
  allowedGroups: Set<string> | undefined;
  exploration: number;
  latencyAlpha: number;
}

export interface RoutingTable {
  /** The top-level provider: serves every model when no logical models are configured. */
  implicit: Route;
  logical: Map<string, Route>;
  allowUnknown: boolean;
}

let priceBook: PriceBook | undefined;
function catalogPrice(provider: string, model: string | undefined): number | undefined {
  priceBook ??= new PriceBook(shippedPriceCatalog());
  const price = priceBook.lookup(provider, model);
  return price && (price.base.input + price.base.output) / 1e6;
}

/**
 * `breaker: false` for the implicit top-level target: with nowhere else to send its traffic, an open breaker would
 * only turn the provider's own answers into 503s.
 */
function compileTarget(t: RouteTargetConfig, config: LlmProxyConfig, breaker: boolean): RouteTarget {
  const adapter = PROVIDERS[t.provider];
  const baseUrl = t.base_url ?? adapter.defaultBaseUrl ?? '';
  const key = `${t.provider}|${baseUrl}|${t.model ?? '*'}`;
  return {
    name: t.name ?? `${t.provider}/${t.model ?? '*'}`,
    key,
    adapter,
    config: t,
    weight: t.weight,
    price: t.prices ? t.prices.input_per_1m + t.prices.output_per_1m : catalogPrice(t.provider, t.model),
    totalMs: t.timeouts.total_ms ?? config.timeouts.total_ms,
    breaker: breaker ? breakerFor(key, config.circuit_breaker) : ALWAYS_CLOSED,
    queue: queueFor(key, t.max_in_flight ?? config.queue.max_in_flight, config.queue.max_queue),
  };
}

function compileRoute(m: LogicalModelConfig | undefined, targets: RouteTargetConfig[], config: LlmProxyConfig): Route {
  const compiled = targets.map((t) => compileTarget(t, config, m !== undefined));
  const byName = new Map(compiled.map((t) => [t.name, t]));
  return {
    logicalName: m?.name,
    strategy: m?.strategy ?? 'priority',
    targets: compiled,
    rules: (m?.rules ?? []).map((rule) => ({ rule, targets: rule.targets.map((n) => byName.get(n)!) })),
    allowedGroups: m?.allowed_groups && new Set(m.allowed_groups),
    exploration: m?.exploration ?? 0,
    latencyAlpha: m?.latency_alpha ?? 0.3,
  };
}

export function compileRoutingTable(config: LlmProxyConfig): RoutingTable {
  const top: RouteTargetConfig = {
    provider: config.provider,
    base_url: config.base_url,
    model: config.model,
    options: config.options,
    auth: config.auth,
    weight: 1,
    timeouts: { total_ms: config.timeouts.total_ms },
  };
  return {
    implicit: compileRoute(undefined, [top], config),
    logical: new Map(config.models.map((m) => [m.name, compileRoute(m, m.targets, config)])),
    allowUnknown: config.allow_unknown_models,
  };
}

/** Where and how to call a target for one attempt (credentials are read now: an env var may change). */
export function providerTarget(target: RouteTarget, config: LlmProxyConfig, env: NodeJS.ProcessEnv = process.env): ProviderTarget {
  const t = target.config;
  const baseUrl = t.base_url ?? target.adapter.defaultBaseUrl;
  if (!baseUrl) throw new GatewayError(500, 'llm-proxy has no base_url for this provider', 'gateway_misconfigured');
  const apiKey = t.auth.api_key ?? (t.auth.api_key_env ? env[t.auth.api_key_env] : undefined);
  if (!apiKey && target.adapter.needsApiKey !== false) {
    throw new GatewayError(500, 'llm-proxy has no provider API key configured (auth.api_key or auth.api_key_env)', 'provider_key_missing');
  }
  return {
    provider: t.provider,
    baseUrl,
    apiKey,
    model: t.model,
    apiVersion: config.anthropic_version,
    options: t.options,
    timeouts: {
      connectMs: t.timeouts.connect_ms ?? config.timeouts.connect_ms,
      firstByteMs: t.timeouts.first_byte_ms ?? config.timeouts.first_byte_ms,
      idleMs: t.timeouts.idle_ms ?? config.timeouts.idle_ms,
    },
  };
}
