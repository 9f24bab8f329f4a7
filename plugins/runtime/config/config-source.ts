import type { z } from 'zod';
import type { PluginDefinition } from '../plugin-definition';

/** The part of a plugin definition the config pipeline reads; every PluginDefinition is one. */
export type ConfigSource<S extends z.ZodType = z.ZodType> = Pick<PluginDefinition<S>, 'name' | 'configSchema'>;
