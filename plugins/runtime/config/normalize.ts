import type { z } from 'zod';
import type { ConfigSource } from './config-source';
import { formatPath } from './field-path';
import { findUnknownKeys } from './zod-walk';

/** One problem with a plugin config; `path` is relative to the config, e.g. `targets[0].provider` ('' = the whole config). */
export interface ConfigIssue {
  path: string;
  message: string;
}

export type ParseResult<D extends ConfigSource> =
  | { ok: true; config: z.infer<D['configSchema']> }
  | { ok: false; issues: ConfigIssue[] };

/** Keys Kong adds to every plugin config it sends at StartInstance (research/kong-plugin-protocol.md §1). */
export const KONG_CONFIG_KEYS = [
  'route_id',
  'service_id',
  'consumer_id',
  'consumer_group_id',
  'plugin_instance_name',
  '__plugin_id',
  '__ws_id',
  '__key__',
  '__seq__',
  'protocols',
] as const;

/**
 * Parses the config Kong sends at StartInstance: Kong's own keys are dropped, unset optional fields (`null`) become
 * absent, unknown fields are rejected.
 */
export function parsePluginConfig<D extends ConfigSource>(def: D, raw: unknown): ParseResult<D> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, issues: [{ path: '', message: 'the plugin config must be an object' }] };
  }
  const config = nullsToUndefined(stripKongKeys(raw as Record<string, unknown>));
  const unknownKeys: ConfigIssue[] = findUnknownKeys(def.configSchema, config).map(({ path, key }) => ({
    path: formatPath([...path, key]),
    message: 'unknown field',
  }));
  const parsed = def.configSchema.safeParse(config, { error: missingFieldMessage });
  if (parsed.success && unknownKeys.length === 0) return { ok: true, config: parsed.data as z.infer<D['configSchema']> };
  const issues = parsed.success ? [] : parsed.error.issues.map(toConfigIssue);
  return { ok: false, issues: [...unknownKeys, ...issues] };
}

export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('\n');
}

export function toConfigIssue(issue: z.core.$ZodIssue): ConfigIssue {
  return { path: formatPath(issue.path), message: issue.message };
}

function missingFieldMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'required field is missing';
  return undefined;
}

function stripKongKeys(config: Record<string, unknown>): Record<string, unknown> {
  const kongKeys: ReadonlySet<string> = new Set(KONG_CONFIG_KEYS);
  return Object.fromEntries(Object.entries(config).filter(([key]) => !kongKeys.has(key)));
}

export function nullsToUndefined(value: unknown): unknown {
  if (value === null) return undefined;
  if (Array.isArray(value)) return value.map(nullsToUndefined);
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as object).map(([key, child]) => [key, nullsToUndefined(child)]));
  }
  return value;
}
