import type { PdkContext } from '../pdk/context';
import type { Phase } from '../request-state';
import type { KongField } from '../schema-defaults';

/** A Kong bundled (Lua) plugin emulated in TypeScript. */
export interface BundledPlugin {
  name: string;
  priority: number;
  phases: Phase[];
  /** the config record's fields in Kong's schema DSL, for defaults */
  schemaFields: Record<string, KongField>[];
  /** Runs the handler; an answer is recorded with produceExit/produceError; Lua errors are thrown as LuaError. */
  run(ctx: PdkContext, phase: Phase, conf: Record<string, unknown>): void | Promise<void>;
}
