/**
 * How values look on Kong's side of the wire: Lua tables packed by lua-MessagePack 0.5 and JSON written by
 * lua-cjson. JS objects/arrays stand for Lua tables; the emulator converts them here, at the wire boundary.
 */

/** A Lua `error()` raised inside Kong (wrong phase, bad argument, unpackable value, failed assert). */
export class LuaError extends Error {
  override readonly name = 'LuaError';
}

/** lua-MessagePack packs an empty Lua table as an empty array; this marker forces an empty map (mp_rpc fix_mmap). */
export const EMPTY_MAP: unique symbol = Symbol('msgpack empty map');

/** Marks bytes Kong packs as msgpack bin (mp_rpc fix_raw); a plain string packs as str. */
export class LuaBinary {
  constructor(readonly bytes: Uint8Array) {}
}

export function isTable(v: unknown): v is Record<string, unknown> | unknown[] {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !(v instanceof LuaBinary);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return isTable(v) && !Array.isArray(v);
}

/** Lua's type() for a value decoded from the plugin server (bin and str are both Lua strings). */
export function luaType(v: unknown): 'nil' | 'string' | 'number' | 'boolean' | 'table' {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string' || v instanceof Uint8Array) return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'boolean';
  return 'table';
}

/** A Lua string argument as JS text (msgpack bin arrives as bytes). */
export function luaString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  return undefined;
}

/** Lua's tostring() for scalars (as kong.log.* and header setters use it). */
export function luaToString(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'number') return formatNumber(v, 14);
  if (typeof v === 'boolean' || typeof v === 'string') return String(v);
  if (v instanceof Uint8Array) return luaString(v) ?? '';
  return 'table: 0x00000000';
}

/**
 * Converts a Kong-side value into what lua-MessagePack would put on the wire:
 * empty tables become empty arrays, EMPTY_MAP an empty map, LuaBinary bin, nil stays nil.
 */
export function toWire(v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (v === EMPTY_MAP) return {};
  if (v instanceof LuaBinary) return v.bytes;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v instanceof Uint8Array) return luaString(v);
  if (Array.isArray(v)) return v.map(toWire);
  if (typeof v === 'object') {
    // undefined is a Lua nil (absent key); null is cjson.null, which packs as a nil value under its key
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return [];
    return Object.fromEntries(entries.map(([k, x]) => [k, toWire(x)]));
  }
  throw new LuaError(`pack '${typeof v}' is unimplemented`);
}

/** lua-cjson's %.{precision}g number format (Kong sets precision 16). */
export function formatNumber(n: number, precision = 16): string {
  if (Number.isNaN(n)) return n > 0 ? 'nan' : '-nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= precision) {
    const [mantissa, e] = n.toExponential(precision - 1).split('e');
    const m = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
    const sign = e.startsWith('-') ? '-' : '+';
    const digits = e.replace(/^[+-]/, '').padStart(2, '0');
    return `${m}e${sign}${digits}`;
  }
  const fixed = n.toPrecision(precision);
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

function encodeString(s: string): string {
  return JSON.stringify(s).replace(/\//g, '\\/');
}

/**
 * lua-cjson's encode: `/` escaped as `\/`, numbers with 16 significant digits, an empty table as `{}` unless it
 * is known to be an array (`emptyArraysAsArrays`, for tables Kong marks with cjson.array_mt).
 */
export function cjsonEncode(v: unknown, emptyArraysAsArrays = false): string {
  if (v === null || v === undefined || v === EMPTY_MAP) return v === EMPTY_MAP ? '{}' : 'null';
  if (typeof v === 'string') return encodeString(v);
  if (v instanceof Uint8Array) return encodeString(luaString(v) ?? '');
  if (v instanceof LuaBinary) return encodeString(luaString(v.bytes) ?? '');
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new LuaError('Cannot serialise number: must not be NaN or Infinity');
    return formatNumber(v);
  }
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return emptyArraysAsArrays ? '[]' : '{}';
    return `[${v.map((x) => cjsonEncode(x, emptyArraysAsArrays)).join(',')}]`;
  }
  if (typeof v === 'object') {
    const parts = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${encodeString(k)}:${cjsonEncode(x, emptyArraysAsArrays)}`);
    return `{${parts.join(',')}}`;
  }
  throw new LuaError(`Cannot serialise ${typeof v}: type not supported`);
}

/** Deep copy of a Kong-side table (cycle-free data only). */
export function deepCopy<T>(v: T): T {
  if (Array.isArray(v)) return v.map(deepCopy) as T;
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepCopy(x)])) as T;
  return v;
}
