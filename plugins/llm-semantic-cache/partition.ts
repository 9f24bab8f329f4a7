import { createHash } from 'node:crypto';
import type { Exchange } from '../runtime/relay/stage';
import type { SemanticKeyText } from './conversation';
import type { CacheAnnotation } from './stage';
import type { CacheConfig } from './schema';

/**
 * What ./conversation.ts makes of the messages: the hashed context and the text the embedder reads; undefined when
 * the conversation does not end with user text (then only the exact cache applies).
 */
export type KeyTextOf = (messages: unknown[]) => SemanticKeyText | undefined;

/** Where a request's answer may be looked up and stored, or why it may not be. */
export type CacheKeys =
  | {
      ok: true;
      /** hash of everything two requests must share before their answers may be compared */
      partition: string;
      /** hash of the partition and the whole normalised conversation */
      exactKey: string;
      /** the text embedded and compared by the guards (the last user turns); empty: exact cache only */
      prompt: string;
      logicalModel: string;
    }
  | { ok: false; reason: BypassReason };

/** Why a request neither reads nor writes the cache (the usage event's cache.reason). */
export type BypassReason = Exclude<CacheAnnotation['reason'], 'embed_failed' | undefined>;

/**
 * Request fields that never change the answer's content; every other field (temperature, top_p, max_tokens,
 * response_format, tool_choice, seed, stop, tools, unknown ones…) goes into the partition.
 */
const NOT_ANSWER_CHANGING = new Set([
  'messages',
  'model',
  'stream',
  'stream_options',
  'user',
  'metadata',
  'store',
  'service_tier',
  'safety_identifier',
  'prompt_cache_key',
  'n',
]);

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64url');

/** JSON with object keys sorted: equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Only the safe normalisation (measured, shared/research/cache-notes.md): line endings and leading/trailing
 * whitespace of each text. Punctuation and inner whitespace are meaningful (code, paths, `==` vs `===`).
 */
function normaliseText(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/\r\n?/g, '\n').trim();
  if (Array.isArray(value)) return value.map(normaliseText);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, k === 'text' || k === 'content' ? normaliseText(v) : v]));
  }
  return value;
}

/** `Cache-Control` (and the legacy `Pragma: no-cache`) directives of the request. */
export function cacheDirectives(headers: Exchange['headers']): { noStore: boolean; noCache: boolean } {
  const directives = [headers['cache-control'], headers.pragma]
    .flat()
    .filter((v): v is string => typeof v === 'string')
    .flatMap((v) => v.split(','))
    .map((d) => d.trim().toLowerCase());
  return { noStore: directives.includes('no-store'), noCache: directives.includes('no-cache') };
}

/** Whose answers may be shared with this caller; undefined = nobody identifiable (the cache is bypassed). */
function scopeSubject(ex: Exchange, scope: CacheConfig['scope']): string | undefined {
  const consumer = ex.identity.consumer?.id;
  switch (scope) {
    case 'shared':
      return 'shared';
    case 'group':
      if (ex.identity.consumerGroups.length > 0) return `groups:${[...ex.identity.consumerGroups].sort().join(',')}`;
      return consumer && `consumer:${consumer}`;
    default:
      return consumer && `consumer:${consumer}`;
  }
}

/** The model the provider will see: llm-proxy's configured model wins over the request's. */
export function logicalModel(ex: Exchange): string {
  const proxy = ex.ctx.plugins.find((p) => p.name === 'llm-proxy')?.config as { model?: unknown } | undefined;
  return typeof proxy?.model === 'string' ? proxy.model : typeof ex.body?.model === 'string' ? ex.body.model : '';
}

/**
 * The partition and exact key of a chat request. The partition carries everything the vector cannot see: route,
 * model, answer-changing parameters, tools, the system prompt and earlier turns (partitionText), who may share,
 * and the embedder (vectors of different embedders never meet).
 */
export function cacheKeys(ex: Exchange, config: CacheConfig, keyTextOf: KeyTextOf, embedderId: string): CacheKeys {
  const body = ex.body ?? {};
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return { ok: false, reason: 'no_messages' };
  if (typeof body.n === 'number' && body.n > 1) return { ok: false, reason: 'n_above_1' };
  if (typeof body.temperature === 'number' && body.temperature > config.max_temperature) return { ok: false, reason: 'temperature' };
  const last = messages.at(-1) as { role?: unknown } | undefined;
  if (!config.cache_tool_calls && (last?.role === 'tool' || last?.role === 'function')) return { ok: false, reason: 'tool_turn' };
  const subject = scopeSubject(ex, config.scope);
  if (!subject) return { ok: false, reason: 'no_consumer' };

  const params = Object.fromEntries(Object.entries(body).filter(([k]) => !NOT_ANSWER_CHANGING.has(k)));
  const model = logicalModel(ex);
  const { partitionText, embedText } = keyTextOf(messages) ?? { partitionText: canonicalJson(messages), embedText: '' };
  const route = ex.identity.route?.id ?? ex.identity.route?.name ?? '';
  const partition = sha256(canonicalJson(['v1', route, model, params, subject, sha256(partitionText), config.mode === 'exact' ? 'exact' : embedderId])).slice(0, 32);
  const exactKey = sha256(`${partition}\u0000${canonicalJson(normaliseText(messages))}`).slice(0, 32);
  return { ok: true, partition, exactKey, prompt: embedText, logicalModel: model };
}
