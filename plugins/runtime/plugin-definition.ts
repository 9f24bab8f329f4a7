import type { z } from 'zod';
import type { KongScope } from './kong-scope';
import type { Pdk } from './pdk';
import type { RelayStage } from './relay/stage';

/** The names Kong knows our plugins by (DESIGN §2.1: `llm-` because Kong bundles Lua `ai-*` plugins). */
export const PLUGIN_NAMES = [
  'llm-pii-guard',
  'llm-semantic-cache',
  'llm-token-limit',
  'llm-cost-attribution',
  'llm-proxy',
] as const;
export type PluginName = (typeof PLUGIN_NAMES)[number];

/** The Kong plugin instance a handler runs for. */
export interface InstanceInfo {
  id: number;
  scope: KongScope;
  /**
   * Whether an instance of another of our plugins may have run on a request to `routeId` (Kong starts an instance
   * before its first handler runs, so one that does not exist yet cannot have run).
   */
  othersMayRunOn(routeId: string | undefined): boolean;
}

export type IdentityNeed = 'credential' | 'consumer_groups';

/** Phases an external plugin may implement (header_filter/body_filter do not exist for plugin servers). */
export type Phase = 'access';

/**
 * What each plugin folder exports. The zod schema is the single source of the Kong schema (generated),
 * the TypeScript config type (inferred) and the offline validation of kong.yaml.
 */
export interface PluginDefinition<S extends z.ZodType = z.ZodType> {
  name: PluginName;
  /** semver, as Kong requires */
  version: string;
  /** Kong runs higher priorities first; the relay runs our stages in the same order. */
  priority: number;
  configSchema: S;
  /** The Kong-side handler: thin, a few PDK calls, never the body. */
  access(kong: Pdk, config: z.infer<S>, instance: InstanceInfo): Promise<void>;
  /** The plugin's work in the relay, where the body is; absent until the plugin has any. */
  relayStage?(config: z.infer<S>): RelayStage;
  /** Identity llm-proxy reads from Kong only when a plugin on the request needs it (each costs a PDK call). */
  identityNeeds?(config: z.infer<S>): IdentityNeed[];
  /**
   * Called when Kong starts an instance with a valid config, so that slow one-time work (loading the cache's
   * embedding model) happens before the first request instead of during it. Must not throw or block.
   */
  warmUp?(config: z.infer<S>): void;
}

export type PluginConfig<D extends PluginDefinition> = z.infer<D['configSchema']>;
