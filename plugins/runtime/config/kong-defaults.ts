import type { KongField } from './zod-to-kong';

/**
 * Fills a record the way Kong does when a plugin is created (kong/db/schema process_auto_fields, insert context), so
 * offline validation sees the config Kong will send at StartInstance: a missing field takes its default, else `null`
 * when optional; a missing required record is expanded to its own defaults; present records, arrays and maps recurse.
 */
export function fillKongDefaults(record: KongField, value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...value };
  for (const entry of record.fields ?? []) {
    for (const [name, field] of Object.entries(entry)) out[name] = fillField(field, value[name]);
  }
  return out;
}

function fillField(field: KongField, value: unknown): unknown {
  if (value === undefined) {
    if (field.default !== undefined) return structuredClone(field.default);
    if (field.required !== true) return null;
    return field.type === 'record' ? fillKongDefaults(field, {}) : undefined;
  }
  return fillValue(field, value);
}

function fillValue(field: KongField, value: unknown): unknown {
  if (field.type === 'record' && isPlainObject(value)) return fillKongDefaults(field, value);
  const elements = field.elements;
  if (field.type === 'array' && elements && Array.isArray(value)) return value.map((item) => fillValue(elements, item));
  const values = field.values;
  if (field.type === 'map' && values && isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fillValue(values, item)]));
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
