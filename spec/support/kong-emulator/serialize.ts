import { deepCopy, LuaError, luaToString } from './lua';
import type { KongRequest, SerializeValue } from './request-state';
import { responseSource } from './pdk/response';
import { decodeArgs } from './pdk/request';

/** kong.pdk.log edit_result: applies set_serialize_value entries (dot paths; `\.` escapes a dot from Kong 3.10). */
export function applySerializeValues(root: Record<string, unknown>, values: SerializeValue[], escapedDots: boolean): Record<string, unknown> {
  for (const { key, value, mode } of values) {
    if (!isValidValue(value, new Set())) {
      throw new LuaError('value must be nil, a number, string, boolean or a non-self-referencial table containing numbers, string and booleans');
    }
    const subkeys = splitKey(key, escapedDots);
    let node: Record<string, unknown> | undefined = root;
    for (const subkey of subkeys.slice(0, -1)) {
      const next: unknown = node[subkey];
      if (next === undefined || next === null) {
        if (mode === 'set' || mode === 'add') node[subkey] = {};
        else {
          node = undefined;
          break;
        }
      } else if (typeof next !== 'object') {
        throw new LuaError(`The key '${key}' could not be used as a serialize value. Subkey '${subkey}' is not a table. It's ${luaToString(next)}`);
      }
      node = node[subkey] as Record<string, unknown>;
    }
    if (!node) continue;
    const last = subkeys[subkeys.length - 1];
    const existing = node[last];
    const present = existing !== undefined && existing !== null;
    if (mode === 'set' || (mode === 'add' && !present) || (mode === 'replace' && present)) {
      if (value === null || value === undefined) delete node[last];
      else node[last] = deepCopy(value);
    }
  }
  return root;
}

/** Splits at every "." after the first character (Kong's loop starts at byte 2); `\.` is literal when escapes apply. */
function splitKey(key: string, escapedDots: boolean): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 1; i < key.length; i++) {
    if (key[i] === '.' && !(escapedDots && key[i - 1] === '\\')) {
      parts.push(key.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(key.slice(start));
  return escapedDots ? parts.map((p) => p.replace(/\\\./g, '.')) : parts;
}

function isValidValue(v: unknown, seen: Set<unknown>): boolean {
  if (v === null || v === undefined || ['number', 'string', 'boolean'].includes(typeof v)) return true;
  if (typeof v !== 'object' || v instanceof Uint8Array) return v instanceof Uint8Array;
  if (seen.has(v)) return false;
  seen.add(v);
  return Object.values(v as object).every((x) => isValidValue(x, seen));
}

function redacted(headers: Record<string, string | string[]>): Record<string, string | string[]> {
  const out = { ...headers };
  if (out.authorization !== undefined) out.authorization = 'REDACTED';
  if (out['proxy-authorization'] !== undefined) out['proxy-authorization'] = 'REDACTED';
  return out;
}

/** kong.log.serialize() for the http subsystem (Kong 3.9 field set), including set_serialize_value edits. */
export function serializeRequest(req: KongRequest, escapedDots: boolean): Record<string, unknown> {
  const hostPort = req.serverPort;
  let upstreamUri = req.proxied || req.upstream.tries.length > 0 ? req.upstream.uri : '';
  if (upstreamUri !== '' && !upstreamUri.includes('?')) {
    if (req.requestUri.endsWith('?')) upstreamUri += '?';
    else if (req.args !== '') upstreamUri += `?${req.args}`;
  }
  const credential = req.authenticatedCredential;
  const consumerId = (credential?.consumer_id as string | undefined) ?? (credential?.consumer as { id?: string } | undefined)?.id ?? req.authenticatedConsumer?.id;
  const root: Record<string, unknown> = {
    request: {
      id: req.id,
      uri: req.requestUri,
      url: `${req.scheme}://${req.host}:${hostPort}${req.requestUri}`,
      querystring: decodeArgs(req.args),
      method: req.method,
      headers: redacted(req.headers.toKongTable()),
      size: req.requestLength,
    },
    upstream_uri: upstreamUri,
    upstream_status: req.upstreamStatus ?? '',
    response: {
      status: req.status,
      headers: (req.exitResponse?.headers ?? req.responseHeaders).toKongTable(),
      size: req.bytesSent,
    },
    latencies: {
      kong: Math.round(req.proxyLatency ?? req.responseLatency ?? 0),
      proxy: req.waitingTime === undefined ? -1 : Math.round(req.waitingTime),
      request: Math.round(req.requestTimeMs),
      receive: Math.round(req.receiveTime ?? 0),
    },
    tries: req.upstream.tries.length > 0 ? deepCopy(req.upstream.tries) : undefined,
    authenticated_entity: credential ? { id: credential.id, consumer_id: consumerId } : undefined,
    route: deepCopy(req.route),
    service: deepCopy(req.service),
    consumer: deepCopy(req.authenticatedConsumer),
    client_ip: req.client.ip,
    started_at: req.startedAtMs,
    source: responseSource({ req }) === 'service' ? 'upstream' : 'kong',
    workspace: req.workspace,
    workspace_name: 'default',
  };
  for (const k of Object.keys(root)) if (root[k] === undefined) delete root[k];
  return req.serializeValues ? applySerializeValues(root, req.serializeValues, escapedDots) : root;
}

