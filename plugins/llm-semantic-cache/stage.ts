import { PriceBook, shippedPriceCatalog, type PriceSpec } from '../llm-cost-attribution/catalog';
import { costOf, usdString } from '../llm-cost-attribution/cost';
import { errorMessage, log } from '../runtime/logger';
import type { ChatChunk, ChatCompletion, ChunkHooks, Exchange, RelayStage } from '../runtime/relay/stage';
import { withDeadline } from '../runtime/store/deadline';
import type { CacheAnnotationSchema } from '../runtime/usage-sinks/event-schema';
import type { z } from 'zod';
import type { Embedder } from './embedders/types';
import type { Agreement } from './guards';
import { countGuardRejection, countLookup, countSavings, countStored, type CacheStatus } from './metrics';
import { cacheDirectives, cacheKeys, type KeyTextOf } from './partition';
import { replayAnswer, ZERO_USAGE } from './replay';
import type { CacheConfig } from './schema';
import type { CacheIndex, CachedAnswer } from './vector-index';

export const PLUGIN = 'llm-semantic-cache';
/** Candidates above the threshold offered to the guards, best first. */
const GUARDED_CANDIDATES = 3;
const LOG_INTERVAL_MS = 5_000;

/** ./guards.ts promptsAgree: the last check before a semantic hit is served. */
export type PromptsAgree = (a: string, b: string) => Agreement;

export interface CacheStageDeps {
  index: CacheIndex;
  /** Absent in exact mode. */
  embedder?: Embedder;
  keyTextOf: KeyTextOf;
  promptsAgree: PromptsAgree;
  /** Similarity a semantic hit needs (config.threshold, else the embedder's calibrated default). */
  threshold: number;
  now?: () => number;
}

/** What the cache adds to the usage event (under `cache`). Never prompt or answer text. */
export type CacheAnnotation = z.infer<typeof CacheAnnotationSchema>;

interface RequestState {
  annotation: CacheAnnotation;
  keys: Extract<ReturnType<typeof cacheKeys>, { ok: true }>;
  vector?: Float32Array;
  completion?: ChatCompletion;
  stream?: StreamCapture;
}

export function cacheStage(config: CacheConfig, deps: CacheStageDeps): RelayStage {
  const { index, embedder } = deps;
  const now = deps.now ?? Date.now;
  const semantic = config.mode === 'semantic' && embedder !== undefined;
  const embedderId = embedder?.id ?? 'none';
  const ttlMs = config.ttl_s * 1000;
  const stepTimeoutMs = config.store_timeout_ms;
  let lastFailureLog = 0;

  function logFailure(event: string, err: unknown): void {
    const t = now();
    if (t - lastFailureLog < LOG_INTERVAL_MS) return;
    lastFailureLog = t;
    log.warn(event, { plugin: PLUGIN, policy: config.policy, error: errorMessage(err) });
  }

  function setHeaders(ex: Exchange, a: CacheAnnotation): void {
    if (!config.response_headers) return;
    ex.responseHeaders['x-cache-status'] = a.status[0].toUpperCase() + a.status.slice(1);
    if (a.kind) ex.responseHeaders['x-cache-key-type'] = a.kind;
    if (a.similarity !== undefined) ex.responseHeaders['x-cache-similarity'] = a.similarity.toFixed(4);
    if (a.age_s !== undefined) ex.responseHeaders['x-cache-age'] = String(a.age_s);
  }

  function finish(ex: Exchange, a: CacheAnnotation): void {
    ex.annotations.cache = a;
    countLookup(a.status, a.kind);
    setHeaders(ex, a);
  }

  /** The request's vector, for the lookup and for storing its answer; undefined when there is nothing to embed or the embedder failed. */
  async function embed(ex: Exchange, state: RequestState, a: CacheAnnotation): Promise<Float32Array | undefined> {
    if (!semantic || state.keys.prompt === '') return undefined;
    try {
      [state.vector] = await embedder!.embed([state.keys.prompt], ex.signal);
      return state.vector;
    } catch (err) {
      a.reason = 'embed_failed'; // exact lookups and writes go on
      logFailure('cache.embed_failed', err);
      return undefined;
    }
  }

  async function semanticHit(ex: Exchange, state: RequestState, a: CacheAnnotation): Promise<{ answer: CachedAnswer; similarity: number } | undefined> {
    const vector = await embed(ex, state, a);
    if (!vector) return undefined;
    const candidates = await withDeadline(index.search(state.keys.partition, vector, deps.threshold, GUARDED_CANDIDATES), stepTimeoutMs);
    for (const c of candidates) {
      const verdict = deps.promptsAgree(state.keys.prompt, c.answer.prompt);
      if (verdict.agree) return c;
      countGuardRejection();
      a.guard_rejected ??= { similarity: round(c.similarity), reason: verdict.reason ?? 'prompts differ' };
    }
    return undefined;
  }

  function serve(ex: Exchange, a: CacheAnnotation, answer: CachedAnswer, kind: 'exact' | 'semantic', similarity: number) {
    a.status = 'hit';
    a.kind = kind;
    a.similarity = round(similarity);
    a.age_s = Math.max(0, Math.floor((now() - answer.createdAt) / 1000));
    Object.assign(a, savings(ex, answer));
    countSavings(a.tokens_saved ?? 0, a.micro_usd_saved ?? 0);
    // A hit used no provider tokens: the limit and cost stages, which never saw the request, settle nothing.
    ex.usage = { ...ZERO_USAGE };
    ex.model = answer.model;
    ex.provider = proxyProvider(ex) ?? answer.provider;
    finish(ex, a);
    return replayAnswer(ex, answer.completion, PLUGIN, {});
  }

  return {
    plugin: PLUGIN,

    async onRequest(ex) {
      if (ex.api !== 'openai-chat' || !ex.body) return;
      const started = performance.now();
      const directives = cacheDirectives(ex.headers);
      const keys = directives.noStore ? ({ ok: false, reason: 'no_store' } as const) : cacheKeys(ex, config, deps.keyTextOf, embedderId);
      if (!keys.ok) return finish(ex, { status: 'bypass', reason: keys.reason });
      const a: CacheAnnotation = { status: directives.noCache ? 'refresh' : 'miss', partition: keys.partition };
      const state: RequestState = { annotation: a, keys };
      try {
        if (!directives.noCache) {
          const exact = await withDeadline(index.getExact(keys.partition, keys.exactKey), stepTimeoutMs);
          if (exact) return serve(ex, a, exact, 'exact', 1);
          const near = await semanticHit(ex, state, a);
          if (near) return serve(ex, a, near.answer, 'semantic', near.similarity);
        } else {
          await embed(ex, state, a);
        }
      } catch (err) {
        // fail open: the store is down or slow, the provider answers, nothing is written
        logFailure('cache.lookup_failed', err);
        return finish(ex, { status: 'bypass', reason: 'store_unavailable', partition: keys.partition });
      } finally {
        a.lookup_ms = round(performance.now() - started);
      }
      ex.pluginState[PLUGIN] = state;
      finish(ex, a);
    },

    transformCompletion(ex, completion) {
      const state = ex.pluginState[PLUGIN] as RequestState | undefined;
      // copied now: the stages after this one (the PII guard) rewrite the same object for the client (a JSON round
      // trip: the completion is plain JSON, and structuredClone costs several times more)
      if (state) state.completion = JSON.parse(JSON.stringify(completion)) as typeof completion;
    },

    chunkHooks(ex): ChunkHooks | undefined {
      const state = ex.pluginState[PLUGIN] as RequestState | undefined;
      if (!state) return undefined;
      const capture = (state.stream = new StreamCapture(config.max_answer_bytes));
      return {
        onChunk(chunk) {
          capture.add(chunk);
          return { chunks: [chunk] };
        },
        flush: () => [],
      };
    },

    async onComplete(ex) {
      const state = ex.pluginState[PLUGIN] as RequestState | undefined;
      if (!state) return;
      delete ex.pluginState[PLUGIN];
      const a = state.annotation;
      const completion = state.stream ? state.stream.completion() : state.completion;
      const refusal = notStorable(ex, state, completion, config, deps.keyTextOf, embedderId);
      if (refusal) {
        a.stored = false;
        a.not_stored = refusal;
        return;
      }
      const answer: CachedAnswer = {
        partition: state.keys.partition,
        exactKey: state.keys.exactKey,
        prompt: state.keys.prompt,
        completion: completion!,
        provider: ex.provider,
        model: ex.model ?? state.keys.logicalModel,
        usage: {
          promptTokens: ex.usage?.promptTokens ?? 0,
          completionTokens: ex.usage?.completionTokens ?? 0,
          cachedTokens: ex.usage?.cachedTokens,
          reasoningTokens: ex.usage?.reasoningTokens,
        },
        createdAt: now(),
      };
      if (JSON.stringify(answer).length > config.max_answer_bytes) {
        a.stored = false;
        a.not_stored = 'too_large';
        return;
      }
      try {
        await withDeadline(index.put(answer, state.vector, ttlMs), stepTimeoutMs * 4);
        a.stored = true;
        countStored();
      } catch (err) {
        a.stored = false;
        a.not_stored = 'store_unavailable';
        logFailure('cache.store_failed', err);
      }
    },
  };
}

/** Why an answer must not be cached, or undefined when it may. */
function notStorable(ex: Exchange, state: RequestState, completion: ChatCompletion | undefined, config: CacheConfig, keyTextOf: KeyTextOf, embedderId: string): string | undefined {
  if (ex.answeredBy !== undefined) return 'answered_by_stage';
  if (ex.error || ex.status !== 200) return 'error';
  if (ex.signal.aborted) return 'cancelled';
  if (state.stream && !state.stream.finished) return 'incomplete_stream';
  if (state.stream?.tooLarge) return 'too_large';
  const choice = completion?.choices[0];
  if (!choice?.finish_reason) return ex.stream ? 'incomplete_stream' : 'no_completion';
  if (choice.finish_reason === 'content_filter') return 'content_filter';
  const toolCall = choice.finish_reason === 'tool_calls' || choice.finish_reason === 'function_call' || Array.isArray(choice.message.tool_calls);
  if (toolCall && !config.cache_tool_calls) return 'tool_call';
  if ((ex.annotations.cost as { stopped_at_cap?: boolean } | undefined)?.stopped_at_cap) return 'stopped_at_budget';
  if (choice.finish_reason !== 'length') return undefined;
  // cut by a limit a later stage set after the request was keyed (a budget capped max_tokens): not this key's answer
  const now = cacheKeys(ex, config, keyTextOf, embedderId);
  return !now.ok || now.exactKey !== state.keys.exactKey ? 'request_changed' : undefined;
}

/**
 * Rebuilds the streamed answer of choice 0 as a completion while it passes. `finished` only once a chunk carried a
 * finish_reason: a stream cut before that is never cached.
 */
export class StreamCapture {
  private content = '';
  private refusal = '';
  private readonly calls: { id?: unknown; type?: unknown; name: string; arguments: string }[] = [];
  private finishReason: string | undefined;
  private meta: Record<string, unknown> = {};
  private size = 0;
  tooLarge = false;

  constructor(private readonly maxBytes: number) {}

  get finished(): boolean {
    return this.finishReason !== undefined;
  }

  add(chunk: ChatChunk): void {
    if (this.meta.id === undefined) this.meta = { id: chunk.id, created: chunk.created, model: chunk.model, system_fingerprint: chunk.system_fingerprint };
    for (const choice of chunk.choices ?? []) {
      if (choice.index !== 0) continue;
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string') this.content += delta.content;
      if (typeof delta.refusal === 'string') this.refusal += delta.refusal;
      for (const call of (Array.isArray(delta.tool_calls) ? delta.tool_calls : []) as { index?: number; id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } }[]) {
        const i = typeof call.index === 'number' ? call.index : 0;
        const slot = (this.calls[i] ??= { name: '', arguments: '' });
        if (call.id !== undefined) slot.id = call.id;
        if (call.type !== undefined) slot.type = call.type;
        if (typeof call.function?.name === 'string') slot.name += call.function.name;
        if (typeof call.function?.arguments === 'string') slot.arguments += call.function.arguments;
      }
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
    this.size = this.content.length + this.refusal.length + this.calls.reduce((n, c) => n + c.arguments.length, 0);
    if (this.size > this.maxBytes) this.tooLarge = true;
  }

  completion(): ChatCompletion {
    const message: ChatCompletion['choices'][number]['message'] = { role: 'assistant', content: this.content === '' && this.calls.length > 0 ? null : this.content };
    if (this.refusal) message.refusal = this.refusal;
    if (this.calls.length > 0) message.tool_calls = this.calls.map((c) => ({ id: c.id, type: c.type ?? 'function', function: { name: c.name, arguments: c.arguments } }));
    return { ...this.meta, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: this.finishReason ?? null }] };
  }
}

function proxyProvider(ex: Exchange): string | undefined {
  const proxy = ex.ctx.plugins.find((p) => p.name === 'llm-proxy')?.config as { provider?: unknown } | undefined;
  return typeof proxy?.provider === 'string' ? proxy.provider : undefined;
}

const books = new WeakMap<object, PriceBook>();
let shippedBook: PriceBook | undefined;

/** The route's price book: llm-cost-attribution's overrides when it runs on the route, else the shipped catalog. */
function priceBook(ex: Exchange): PriceBook {
  const cost = ex.ctx.plugins.find((p) => p.name === 'llm-cost-attribution')?.config as { prices?: PriceSpec[] } | undefined;
  if (!cost?.prices?.length) return (shippedBook ??= new PriceBook(shippedPriceCatalog()));
  let book = books.get(cost);
  if (!book) books.set(cost, (book = new PriceBook(shippedPriceCatalog(), cost.prices)));
  return book;
}

function savings(ex: Exchange, answer: CachedAnswer): Partial<CacheAnnotation> {
  const { promptTokens, completionTokens } = answer.usage;
  const price = priceBook(ex).lookup(proxyProvider(ex) ?? answer.provider, answer.model);
  const micro = price ? costOf(answer.usage, price).microUsd : 0;
  return {
    tokens_saved: promptTokens + completionTokens,
    prompt_tokens_saved: promptTokens,
    completion_tokens_saved: completionTokens,
    micro_usd_saved: micro,
    cost_saved_usd: usdString(micro),
  };
}

function round(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
