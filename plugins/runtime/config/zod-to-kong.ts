import { z } from 'zod';
import type { ConfigSource } from './config-source';
import { type AnySchema, type SchemaDef, type UnwrappedField, defOf, unwrapField } from './zod-walk';

/**
 * Converts a plugin's zod config schema to Kong's Lua schema DSL in JSON — what Kong reads verbatim from the plugin
 * server's `Schema` info field (research/kong-plugin-protocol.md §2). Anything Kong cannot express throws at build
 * time, naming the field. Refinements, string formats (url, email, regex) and similar checks are not exported: the
 * suite checks them offline (kong-llm validate) and at StartInstance.
 */

export type KongFieldType = 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'map' | 'record';
type Primitive = string | number | boolean;

export interface KongField {
  type: KongFieldType;
  required?: boolean;
  default?: unknown;
  description?: string;
  one_of?: Primitive[];
  between?: [number, number];
  gt?: number;
  len_eq?: number;
  len_min?: number;
  len_max?: number;
  starts_with?: string;
  uuid?: true;
  referenceable?: true;
  encrypted?: true;
  elements?: KongField;
  keys?: KongField;
  values?: KongField;
  fields?: KongFieldEntry[];
}

/** Kong lists record fields as one-key objects to keep their order: `[{ model: {...} }, { max_tokens: {...} }]`. */
export type KongFieldEntry = Record<string, KongField>;

export interface KongPluginSchema {
  name: string;
  fields: [{ config: KongField & { type: 'record'; fields: KongFieldEntry[] } }];
}

export class KongSchemaError extends Error {
  constructor(
    readonly plugin: string,
    readonly fieldPath: string,
    readonly reason: string,
  ) {
    super(`${plugin}: config${fieldPath ? `.${fieldPath}` : ''}: ${reason}`);
    this.name = 'KongSchemaError';
  }
}

/** Kong rejects a schema whose descriptions fall outside this range (metaschema). */
export const DESCRIPTION_LENGTH = { min: 10, max: 500 } as const;

/** Marks a string as a secret: Kong accepts vault references for it and encrypts it at rest. */
export function kongSecret<S extends z.ZodString>(schema: S): S {
  return schema.meta({ kong: { referenceable: true, encrypted: true } });
}

/** Marks a string as accepting Kong vault references (`{vault://env/name}`) without being a secret. */
export function kongReferenceable<S extends z.ZodString>(schema: S): S {
  return schema.meta({ kong: { referenceable: true } });
}

export function kongSchemaFor(def: ConfigSource): KongPluginSchema {
  const convert = new Converter(def.name);
  const root = defOf(unwrapField(def.configSchema).inner);
  if (root.type !== 'object') throw new KongSchemaError(def.name, '', 'the config schema must be a z.object');
  return { name: def.name, fields: [{ config: { type: 'record', fields: convert.recordFields(root, '') } }] };
}

/** The `config` record of a converted schema. */
export function kongConfigField(schema: KongPluginSchema): KongField {
  return schema.fields[0].config;
}

/** `between` needs both ends; an open end becomes the largest value of the type. */
const OPEN_END = { integer: Number.MAX_SAFE_INTEGER, number: Number.MAX_VALUE } as const;

class Converter {
  constructor(private readonly plugin: string) {}

  private fail(path: string, reason: string): never {
    throw new KongSchemaError(this.plugin, path, reason);
  }

  recordFields(def: Extract<SchemaDef, { type: 'object' }>, path: string): KongFieldEntry[] {
    if (def.catchall && defOf(def.catchall).type !== 'never') {
      this.fail(path, 'objects accepting unknown keys (looseObject/catchall) cannot be expressed as a Kong record');
    }
    return Object.entries(def.shape).map(([name, schema]) => {
      const fieldPath = path ? `${path}.${name}` : name;
      return { [name]: this.field(schema, fieldPath) };
    });
  }

  /** A named record field: carries required/default/description. */
  private field(schema: AnySchema, path: string): KongField {
    const field = unwrapField(schema);
    const description = field.meta.description;
    if (description === undefined) {
      this.fail(path, `description missing: Kong requires ${DESCRIPTION_LENGTH.min}-${DESCRIPTION_LENGTH.max} characters (use .describe())`);
    }
    if (description.length < DESCRIPTION_LENGTH.min || description.length > DESCRIPTION_LENGTH.max) {
      this.fail(path, `description has ${description.length} characters; Kong requires ${DESCRIPTION_LENGTH.min}-${DESCRIPTION_LENGTH.max}`);
    }
    const value = this.value(field, path);
    const { type, ...validators } = value;
    // A record defaulting to {} is Kong's required record: Kong then creates it with its fields' defaults,
    // so the Admin API and the instance config show them filled in.
    const expandedRecord = type === 'record' && field.hasDefault && isEmptyObject(field.defaultValue);
    const out: KongField = { type, required: expandedRecord || !(field.optional || field.nullable || field.hasDefault) };
    if (field.hasDefault && !expandedRecord) out.default = this.jsonDefault(field.defaultValue, path);
    out.description = description;
    return { ...out, ...validators, ...this.kongAttributes(field, type, path) };
  }

  private kongAttributes(field: UnwrappedField, type: KongFieldType, path: string): Partial<KongField> {
    const kong = field.meta.kong ?? {};
    const out: Partial<KongField> = {};
    if ((kong.referenceable || kong.encrypted) && type !== 'string') {
      this.fail(path, 'only string fields can be referenceable or encrypted');
    }
    if (kong.referenceable) out.referenceable = true;
    if (kong.encrypted) out.encrypted = true;
    return out;
  }

  private jsonDefault(value: unknown, path: string): unknown {
    try {
      return JSON.parse(JSON.stringify(value));
    } catch {
      return this.fail(path, 'the default value is not JSON');
    }
  }

  /** The type and validators of a (wrapper-free) schema; used for fields, array elements and map keys/values. */
  private value(field: UnwrappedField, path: string): KongField {
    const def = defOf(field.inner);
    switch (def.type) {
      case 'string':
        return { type: 'string', ...this.checks(field.inner, path) };
      case 'number':
        return this.number(field.inner, path);
      case 'boolean':
        return { type: 'boolean' };
      case 'enum':
        return this.oneOf(Object.values(def.entries), path);
      case 'literal':
        return this.oneOf(def.values, path);
      case 'union':
        return this.oneOf(def.options.flatMap((option) => this.literalValues(option, path)), path);
      case 'array':
        return { type: 'array', ...this.checks(field.inner, path), elements: this.value(unwrapField(def.element), `${path}[]`) };
      case 'record':
        return { type: 'map', keys: this.mapKeys(def.keyType, path), values: this.value(unwrapField(def.valueType), `${path}{}`) };
      case 'object':
        return { type: 'record', fields: this.recordFields(def, path) };
      case 'pipe':
      case 'transform':
        return this.fail(path, 'transforms and pipes cannot be expressed in a Kong schema (Kong sends plain JSON)');
      default:
        return this.fail(path, `zod type "${def.type}" cannot be expressed in a Kong schema`);
    }
  }

  private mapKeys(keyType: AnySchema, path: string): KongField {
    const key = unwrapField(keyType);
    const type = defOf(key.inner).type;
    if (type !== 'string' && type !== 'enum') this.fail(path, 'map keys must be strings (z.record(z.string(), ...))');
    const out = this.value(key, `${path}{key}`);
    if (out.type !== 'string') this.fail(path, 'map keys must be strings');
    return out;
  }

  private literalValues(option: AnySchema, path: string): unknown[] {
    const def = defOf(unwrapField(option).inner);
    if (def.type === 'literal') return def.values;
    if (def.type === 'enum') return Object.values(def.entries);
    return this.fail(path, 'unions cannot be expressed in a Kong schema, except unions of literals (use z.enum)');
  }

  private oneOf(values: readonly unknown[], path: string): KongField {
    const kinds = new Set(values.map((value) => typeof value));
    if (kinds.size !== 1) this.fail(path, 'enum/literal values must all have the same type');
    const [kind] = kinds;
    const type: KongFieldType | undefined =
      kind === 'string' ? 'string' : kind === 'boolean' ? 'boolean' : kind === 'number' ? (values.every(Number.isInteger) ? 'integer' : 'number') : undefined;
    if (!type) return this.fail(path, `literal values of type ${kind} cannot be expressed in a Kong schema`);
    return { type, one_of: [...new Set(values as Primitive[])] };
  }

  private number(schema: AnySchema, path: string): KongField {
    let integer = false;
    let lower: { value: number; inclusive: boolean } | undefined;
    let upper: { value: number; inclusive: boolean } | undefined;
    for (const check of checksOf(schema)) {
      if (check.check === 'number_format') integer ||= /int/.test(check.format);
      else if (check.check === 'greater_than') lower = tighter(lower, { value: Number(check.value), inclusive: check.inclusive }, 1);
      else if (check.check === 'less_than') upper = tighter(upper, { value: Number(check.value), inclusive: check.inclusive }, -1);
      else if (check.check === 'overwrite') this.fail(path, 'transforms cannot be expressed in a Kong schema');
    }
    // Kong has `between` (inclusive) and `gt` but no `lt`: integers become exact inclusive bounds; an exclusive upper
    // bound on a float is exported inclusively (Kong is looser, zod still enforces it).
    if (integer) {
      if (lower && !lower.inclusive) lower = { value: Math.floor(lower.value) + 1, inclusive: true };
      if (upper && !upper.inclusive) upper = { value: Math.ceil(upper.value) - 1, inclusive: true };
    }
    const out: KongField = { type: integer ? 'integer' : 'number' };
    if (lower && !lower.inclusive) {
      out.gt = lower.value;
      if (upper) out.between = [lower.value, upper.value];
    } else if (lower || upper) {
      const open = OPEN_END[out.type === 'integer' ? 'integer' : 'number'];
      out.between = [lower?.value ?? -open, upper?.value ?? open];
    }
    return out;
  }

  /** Length and string-format checks Kong can express. */
  private checks(schema: AnySchema, path: string): Partial<KongField> {
    const out: Partial<KongField> = {};
    for (const check of checksOf(schema)) {
      switch (check.check) {
        case 'min_length':
          out.len_min = Math.max(out.len_min ?? 0, check.minimum);
          break;
        case 'max_length':
          out.len_max = Math.min(out.len_max ?? Infinity, check.maximum);
          break;
        case 'length_equals':
          out.len_eq = check.length;
          break;
        case 'string_format':
          if (check.format === 'starts_with') out.starts_with = (check as z.core.$ZodCheckStartsWithDef).prefix;
          else if (check.format === 'uuid') out.uuid = true;
          break;
        case 'overwrite':
          this.fail(path, 'transforms (trim, toLowerCase, ...) cannot be expressed in a Kong schema');
      }
    }
    return out;
  }
}

type CheckDef = z.core.$ZodChecks['_zod']['def'];

/** The schema's own format (z.url(), z.int()) plus its chained checks; refinements (custom) are left out. */
function checksOf(schema: AnySchema): CheckDef[] {
  const def = defOf(schema) as SchemaDef & { check?: string; checks?: z.core.$ZodCheck[] };
  const own = def.check ? [def as unknown as CheckDef] : [];
  const chained = (def.checks ?? []).map((check) => check._zod.def as CheckDef).filter((check) => 'check' in check);
  return [...own, ...chained];
}

function tighter(
  current: { value: number; inclusive: boolean } | undefined,
  next: { value: number; inclusive: boolean },
  direction: 1 | -1,
): { value: number; inclusive: boolean } {
  if (!current) return next;
  if (next.value * direction > current.value * direction) return next;
  if (next.value === current.value) return { value: next.value, inclusive: current.inclusive && next.inclusive };
  return current;
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}
