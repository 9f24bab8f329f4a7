import { z } from 'zod';

/**
 * Read-only introspection of the zod 4 schemas plugins use for their config. Shared by the Kong schema
 * converter, the strict parser (unknown keys) and the validator (vault references).
 */

export type AnySchema = z.core.$ZodType;
export type SchemaDef = z.core.$ZodTypes['_zod']['def'];

export interface KongFieldMeta {
  /** Kong may take the value from a vault: `{vault://env/openai-key}`. */
  referenceable?: boolean;
  /** Kong Enterprise encrypts the value at rest (keyring). */
  encrypted?: boolean;
}

export interface FieldMeta {
  description?: string;
  kong?: KongFieldMeta;
}

declare module 'zod' {
  interface GlobalMeta {
    kong?: KongFieldMeta;
  }
}

/** A field with its optional/nullable/default wrappers peeled off. */
export interface UnwrappedField {
  inner: AnySchema;
  optional: boolean;
  nullable: boolean;
  hasDefault: boolean;
  defaultValue?: unknown;
  meta: FieldMeta;
}

export function defOf(schema: AnySchema): SchemaDef {
  return (schema as z.core.$ZodTypes)._zod.def;
}

/** Metadata may sit on any wrapper layer (`z.string().describe(..).optional()` or the reverse); the outer layer wins. */
function mergeMeta(meta: FieldMeta, layer: AnySchema): FieldMeta {
  const own = z.globalRegistry.get(layer);
  if (!own) return meta;
  return {
    description: meta.description ?? own.description,
    kong: meta.kong || own.kong ? { ...own.kong, ...meta.kong } : undefined,
  };
}

export function unwrapField(schema: AnySchema): UnwrappedField {
  const field: UnwrappedField = { inner: schema, optional: false, nullable: false, hasDefault: false, meta: {} };
  for (let depth = 0; depth < 32; depth++) {
    field.meta = mergeMeta(field.meta, field.inner);
    const def = defOf(field.inner);
    switch (def.type) {
      case 'optional':
        field.optional = true;
        field.inner = def.innerType;
        continue;
      case 'nullable':
        field.nullable = true;
        field.inner = def.innerType;
        continue;
      case 'default':
      case 'prefault':
        if (!field.hasDefault) {
          field.hasDefault = true;
          field.defaultValue = def.defaultValue;
        }
        field.inner = def.innerType;
        continue;
      case 'readonly':
        field.inner = def.innerType;
        continue;
      default:
        return field;
    }
  }
  throw new Error('zod schema wrappers nested too deeply');
}

/** The schema that validates the value at `path` (object keys, array indexes, record keys), if the path exists in it. */
export function schemaAtPath(schema: AnySchema, path: readonly PropertyKey[]): UnwrappedField | undefined {
  let field = unwrapField(schema);
  for (const key of path) {
    const def = defOf(field.inner);
    if (def.type === 'object' && typeof key === 'string' && Object.hasOwn(def.shape, key)) field = unwrapField(def.shape[key]);
    else if (def.type === 'array' && typeof key === 'number') field = unwrapField(def.element);
    else if (def.type === 'record' && typeof key === 'string') field = unwrapField(def.valueType);
    else return undefined;
  }
  return field;
}

export interface UnknownKey {
  path: PropertyKey[];
  key: string;
}

/** zod objects strip unknown keys silently; Kong rejects them, so do we. */
export function findUnknownKeys(schema: AnySchema, value: unknown, path: PropertyKey[] = []): UnknownKey[] {
  if (value === null || typeof value !== 'object') return [];
  const def = defOf(unwrapField(schema).inner);
  if (def.type === 'object' && !Array.isArray(value)) {
    const allowsExtra = def.catchall !== undefined && defOf(def.catchall).type !== 'never';
    return Object.entries(value).flatMap(([key, child]) => {
      if (Object.hasOwn(def.shape, key)) return findUnknownKeys(def.shape[key], child, [...path, key]);
      return allowsExtra ? [] : [{ path, key }];
    });
  }
  if (def.type === 'array' && Array.isArray(value)) {
    return value.flatMap((child, index) => findUnknownKeys(def.element, child, [...path, index]));
  }
  if (def.type === 'record' && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([key, child]) => findUnknownKeys(def.valueType, child, [...path, key]));
  }
  return [];
}
