import type { ConfigSource } from './config-source';
import type { DeclarativeConfig, DeclarativeConsumer, DeclarativePlugin, DeclarativeRoute } from './declarative';
import { formatPath } from './field-path';
import { fillKongDefaults } from './kong-defaults';
import { parsePluginConfig } from './normalize';
import { pluginsForRequest } from './plugin-precedence';
import { isVaultReference } from './vault-refs';
import { type AnySchema, defOf, unwrapField } from './zod-walk';
import { type KongField, kongConfigField, kongSchemaFor } from './zod-to-kong';

/** One thing wrong in a declarative file, placed precisely enough to fix it without searching. */
export interface Problem {
  file: string;
  /** where the entity is written, e.g. `services[0].routes[0].plugins[1]` */
  location: string;
  /** plugin name */
  plugin: string;
  /** e.g. `route "chat"`, `service "llm", consumer "alice"`, `global` */
  scope: string;
  /** config field path, e.g. `config.targets[0].provider`; '' when the problem is not about one field */
  path: string;
  message: string;
}

export const SUITE_PREFIX = 'llm-';
export const PROXY_PLUGIN = 'llm-proxy';

/**
 * Checks the suite's plugins in a flattened declarative file: known names, configs against each plugin's schema
 * (with Kong's defaults applied first), and that llm-proxy runs on every request another llm-* plugin runs on.
 */
export function validateDeclarative(cfg: DeclarativeConfig, defs: readonly ConfigSource[]): Problem[] {
  const byName = new Map(defs.map((def) => [def.name as string, def]));
  const problems: Problem[] = [];
  for (const plugin of cfg.plugins) {
    if (!plugin.name.startsWith(SUITE_PREFIX)) continue;
    const problem = (path: string, message: string): Problem => ({
      file: cfg.file,
      location: plugin.location,
      plugin: plugin.name,
      scope: describeScope(cfg, plugin),
      path,
      message,
    });
    const def = byName.get(plugin.name);
    if (!def) {
      problems.push(problem('', `unknown plugin; the suite has ${[...byName.keys()].join(', ')}`));
      continue;
    }
    problems.push(...checkConfig(def, plugin.config).map(({ path, message }) => problem(path, message)));
  }
  problems.push(...checkComposition(cfg, byName));
  problems.push(...checkProxyServices(cfg));
  return problems;
}

/**
 * llm-proxy points Kong's upstream at the relay (plain HTTP on loopback) without changing the scheme, to save a
 * PDK call on every request: the service of a route it runs on must therefore use http.
 */
function checkProxyServices(cfg: DeclarativeConfig): Problem[] {
  const problems: Problem[] = [];
  for (const route of cfg.routes) {
    const service = cfg.services.find((s) => s.id === route.service);
    if (!service || service.protocol === 'http') continue;
    const proxy = pluginsForRequest(cfg, route.id, route.service, undefined, []).find((p) => p.name === PROXY_PLUGIN);
    if (!proxy) continue;
    problems.push({
      file: cfg.file,
      location: service.location,
      plugin: PROXY_PLUGIN,
      scope: routeLabel(route),
      path: '',
      message: `service "${service.name ?? service.id}" uses ${service.protocol}; a service carrying ${PROXY_PLUGIN} must use http (a placeholder such as http://127.0.0.1:65535: llm-proxy sends the traffic to the suite's relay on loopback, and providers are configured in the plugin)`,
    });
  }
  return problems;
}

export function formatProblem(problem: Problem): string {
  const field = problem.path ? `${problem.path}: ` : '';
  return `${problem.file}: ${problem.location} ${problem.plugin} (${problem.scope}): ${field}${problem.message}`;
}

function checkConfig(def: ConfigSource, config: Record<string, unknown>): { path: string; message: string }[] {
  const filled = fillKongDefaults(kongConfigOf(def), config);
  const references = vaultReferences(def.configSchema, filled);
  const accepted = new Set(references.filter((ref) => ref.referenceable).map((ref) => ref.path));
  const misplaced = references
    .filter((ref) => !ref.referenceable)
    .map((ref) => ({ path: ref.path, message: 'this field does not accept vault references' }));
  const parsed = parsePluginConfig(def, filled);
  const issues = parsed.ok ? [] : parsed.issues.filter((issue) => !accepted.has(issue.path));
  return [...issues, ...misplaced].map(({ path, message }) => ({ path: path ? `config.${path}` : 'config', message }));
}

const kongConfigs = new WeakMap<ConfigSource, KongField>();

function kongConfigOf(def: ConfigSource): KongField {
  let field = kongConfigs.get(def);
  if (!field) kongConfigs.set(def, (field = kongConfigField(kongSchemaFor(def))));
  return field;
}

interface VaultReferenceSite {
  path: string;
  referenceable: boolean;
}

/** Every `{vault://...}` string in the config, and whether the schema lets Kong resolve it there. */
function vaultReferences(schema: AnySchema, value: unknown, path: PropertyKey[] = []): VaultReferenceSite[] {
  const field = unwrapField(schema);
  if (isVaultReference(value)) return [{ path: formatPath(path), referenceable: field.meta.kong?.referenceable === true }];
  if (value === null || typeof value !== 'object') return [];
  const def = defOf(field.inner);
  if (def.type === 'array' && Array.isArray(value)) {
    return value.flatMap((item, i) => vaultReferences(def.element, item, [...path, i]));
  }
  const entries = Object.entries(value);
  if (def.type === 'object') {
    return entries.flatMap(([key, item]) => (Object.hasOwn(def.shape, key) ? vaultReferences(def.shape[key], item, [...path, key]) : []));
  }
  if (def.type === 'record') return entries.flatMap(([key, item]) => vaultReferences(def.valueType, item, [...path, key]));
  return [];
}

/** Like Kong's AI plugins need ai-proxy, every llm-* plugin needs llm-proxy on the same request. */
function checkComposition(cfg: DeclarativeConfig, known: ReadonlyMap<string, ConfigSource>): Problem[] {
  const callers: (DeclarativeConsumer | undefined)[] = [undefined, ...cfg.consumers];
  const problems: Problem[] = [];
  for (const route of cfg.routes) {
    const reported = new Set<string>();
    for (const consumer of callers) {
      const active = pluginsForRequest(cfg, route.id, route.service, consumer?.id, consumer?.groups ?? []).filter((plugin) =>
        known.has(plugin.name),
      );
      if (active.length === 0 || active.some((plugin) => plugin.name === PROXY_PLUGIN)) continue;
      for (const plugin of active.filter((p) => !reported.has(p.name))) {
        reported.add(plugin.name);
        const caller = consumer ? ` for consumer "${consumerName(consumer)}"` : '';
        problems.push({
          file: cfg.file,
          location: route.location,
          plugin: plugin.name,
          scope: routeLabel(route),
          path: '',
          message: `${plugin.name} (${plugin.location}) applies without ${PROXY_PLUGIN}${caller}; every llm-* plugin needs ${PROXY_PLUGIN} on the same request`,
        });
      }
    }
  }
  return problems;
}

function routeLabel(route: DeclarativeRoute): string {
  return `route "${route.name ?? route.id}"`;
}

function consumerName(consumer: DeclarativeConsumer): string {
  return consumer.username ?? consumer.custom_id ?? consumer.id;
}

export function describeScope(cfg: DeclarativeConfig, plugin: DeclarativePlugin): string {
  const parts: string[] = [];
  const route = cfg.routes.find((r) => r.id === plugin.route);
  if (route) parts.push(routeLabel(route));
  const service = cfg.services.find((s) => s.id === plugin.service);
  if (service) parts.push(`service "${service.name ?? service.id}"`);
  const consumer = cfg.consumers.find((c) => c.id === plugin.consumer);
  if (consumer) parts.push(`consumer "${consumerName(consumer)}"`);
  const group = cfg.consumer_groups.find((g) => g.id === plugin.consumer_group);
  if (group) parts.push(`consumer group "${group.name}"`);
  return parts.length ? parts.join(', ') : 'global';
}
