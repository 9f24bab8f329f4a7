import { isObject, type Json } from '../anthropic/json';

/**
 * The part of JSON Schema that Gemini's `Schema` object (a subset of OpenAPI 3.0) accepts. Function parameters are
 * sent in that form; Gemini rejects the request with INVALID_ARGUMENT on any other field, so everything else
 * (`additionalProperties`, `$schema`, `$id`, `$ref`, `$defs`, `definitions`, `oneOf`, `allOf`, `not`, `const`,
 * `exclusiveMinimum`, `patternProperties`, `examples`, …) is left out. Two rewrites keep the meaning where Gemini has
 * another spelling: `type: ["string", "null"]` → `type: "string", nullable: true`, and `const: x` → `enum: [x]`.
 * Response formats (`json_schema`) go in `responseJsonSchema`, which takes full JSON Schema, and are not rewritten.
 */
const KEPT = new Set([
  'type',
  'format',
  'title',
  'description',
  'nullable',
  'enum',
  'default',
  'example',
  'items',
  'minItems',
  'maxItems',
  'properties',
  'required',
  'minProperties',
  'maxProperties',
  'propertyOrdering',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'anyOf',
]);

export function toGeminiSchema(schema: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!KEPT.has(key)) continue;
    if (key === 'properties' && isObject(value)) out.properties = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, isObject(s) ? toGeminiSchema(s) : s]));
    else if (key === 'items' && isObject(value)) out.items = toGeminiSchema(value);
    else if (key === 'anyOf' && Array.isArray(value)) out.anyOf = value.map((s) => (isObject(s) ? toGeminiSchema(s) : s));
    else out[key] = value;
  }
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((t) => t !== 'null');
    if (types.length === 1) out.type = types[0];
    else delete out.type;
    if (types.length < schema.type.length) out.nullable = true;
  }
  if (schema.const !== undefined && out.enum === undefined) out.enum = [schema.const];
  // Gemini's enum is for strings only: other values are sent as strings, an enum on a non-string type is left out
  if (Array.isArray(out.enum)) {
    if (out.type === undefined || out.type === 'string') out.enum = out.enum.map(String);
    else delete out.enum;
  }
  return out;
}
