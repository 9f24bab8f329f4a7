/** Small helpers for reading loosely typed JSON of the Anthropic and OpenAI wire formats. */
export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export const objects = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);

export const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined);

/** Parses tool-call arguments; an empty string is the empty object (what models send for tools without parameters). */
export function parseArguments(args: unknown): Json | undefined {
  if (isObject(args)) return args;
  const text = str(args).trim();
  if (text === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
