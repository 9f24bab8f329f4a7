import { deepCopy, isPlainObject, isTable } from './lua';

/** One field of Kong's schema DSL as JSON: `{ name: { type, default, required, fields|elements|keys|values } }`. */
export interface KongField {
  type?: string;
  default?: unknown;
  required?: boolean;
  fields?: Record<string, KongField>[];
  elements?: KongField;
  values?: KongField;
  [attr: string]: unknown;
}

/** The `config` record's fields inside a plugin info Schema (`{name, fields: [{config: {type: 'record', fields}}]}`). */
export function configFieldsOf(schema: unknown): Record<string, KongField>[] {
  const fields = isPlainObject(schema) && Array.isArray(schema.fields) ? schema.fields : [];
  for (const entry of fields) {
    if (isPlainObject(entry) && isPlainObject(entry.config)) {
      const config = entry.config as KongField;
      return Array.isArray(config.fields) ? config.fields : [];
    }
  }
  return [];
}

/**
 * The plugin config Kong hands to a plugin: defaults filled as schema:process_auto_fields does on insert, then
 * read back as the plugins iterator reads it (DAO select without `nulls`): unset optional fields are absent.
 * `keepNulls` keeps them as null instead (what a select with nulls=true would give).
 */
export function fillConfigDefaults(
  fields: Record<string, KongField>[],
  config: Record<string, unknown>,
  keepNulls = false,
): Record<string, unknown> {
  const inserted = processRecord(fields, config);
  return keepNulls ? inserted : stripNulls(fields, inserted);
}

function processRecord(fields: Record<string, KongField>[], data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...data };
  for (const entry of fields) {
    for (const [name, field] of Object.entries(entry)) out[name] = adjustField(field, data[name]);
  }
  return out;
}

/** kong.db.schema adjust_field_for_context, "insert" context. */
function adjustField(field: KongField, input: unknown): unknown {
  let value = input;
  if (field.type === 'record') {
    if (value !== null && (value !== undefined || field.required === true)) {
      value = value ?? missingField(field);
      if (isPlainObject(value)) return processRecord(field.fields ?? [], value);
    }
  } else if (isTable(value)) {
    if ((field.type === 'array' || field.type === 'set') && Array.isArray(value)) {
      const items = value.map((v) => (field.elements ? adjustField(field.elements, v) : v));
      value = field.type === 'set' ? dedupe(items) : items;
    } else if (field.type === 'map' && isPlainObject(value) && field.values) {
      const values = field.values;
      value = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, adjustField(values, v)]));
    }
  }
  if (value === undefined) return missingField(field);
  return value;
}

/** kong.db.schema handle_missing_field. */
function missingField(field: KongField): unknown {
  if (field.default !== undefined) return deepCopy(field.default);
  if (field.required !== true) return null;
  if (field.type === 'record') return processRecord(field.fields ?? [], {});
  return undefined;
}

function dedupe(items: unknown[]): unknown[] {
  const seen = new Set<string>();
  return items.filter((v) => {
    const key = JSON.stringify(v);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** "select" with nulls=false: null becomes nil at every record level. */
function stripNulls(fields: Record<string, KongField>[], data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...data };
  for (const entry of fields) {
    for (const [name, field] of Object.entries(entry)) {
      const value = out[name];
      if (value === null) delete out[name];
      else out[name] = stripValue(field, value);
    }
  }
  return out;
}

function stripValue(field: KongField, value: unknown): unknown {
  if (field.type === 'record' && isPlainObject(value)) return stripNulls(field.fields ?? [], value);
  if ((field.type === 'array' || field.type === 'set') && Array.isArray(value) && field.elements) {
    const elements = field.elements;
    return value.map((v) => stripValue(elements, v));
  }
  if (field.type === 'map' && isPlainObject(value) && field.values) {
    const values = field.values;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stripValue(values, v)]));
  }
  return value;
}
