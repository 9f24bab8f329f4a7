import { createHash, randomUUID } from 'node:crypto';
import { parseWindow, secondsUntilEnd, windowAt, type WindowSlot, type WindowSpec } from '../runtime/limits/windows';
import { errorMessage, log } from '../runtime/logger';
import { errorBody } from '../runtime/relay/errors';
import type { ChunkHooks, EarlyAnswer, Exchange, RelayStage } from '../runtime/relay/stage';
import { withDeadline } from '../runtime/store/deadline';
import { guardedStoreCall } from '../runtime/store/guard';
import { storeForPolicy } from '../runtime/store/plugin-store';
import type { FailMode } from '../runtime/store/guard';
import type { ReserveItem, Store } from '../runtime/store/types';
import { countTextTokens, estimatePromptTokens, expectedCompletionTokens } from '../runtime/tokenizer';
import { counterSubjects, type RequestFacts } from './dimensions';
import { countDecision, countSettleFailure } from './metrics';
import { type LimitConfig, type TokenLimitConfig } from './schema';

const PLUGIN = 'llm-token-limit';

interface CompiledLimit {
  name: string;
  /** name + a digest of the definition: changing a limit starts fresh counters. */
  id: string;
  spec: WindowSpec;
  /** The window in header names: seconds for fixed windows, the period name for calendar ones (Kong's style). */
  windowLabel: string;
  timeZone: string;
  count: LimitConfig['count'];
  by: string[];
  limit: number;
  /** The window containing `nowMs`; remembered, since a calendar computation in a time zone costs ≈ 20–80 µs. */
  slotAt(nowMs: number): WindowSlot;
}

interface Counter {
  limit: CompiledLimit;
  key: string;
  slot: WindowSlot;
  amount: number;
}

export interface LimitReport {
  name: string;
  window: string;
  count: string;
  limit: number;
  /** tokens (or requests) reserved for this request */
  reserved: number;
  /** smallest remaining over this limit's counters after the decision; absent when the store was not reached */
  remaining?: number;
  reset_seconds: number;
  settled?: number;
}

export interface TokenLimitAnnotation {
  decision: 'allowed' | 'rejected' | 'store_failed_open' | 'store_failed_closed' | 'no_limits';
  rejected_by?: string;
  estimated_prompt_tokens: number;
  estimate_exact: boolean;
  tokenizer_family: string;
  expected_completion_tokens: number;
  limits: LimitReport[];
  /** how the reservation was settled: usage, refund (provider not called / failed), streamed (partial, counted by us), late (reservation had expired) */
  settlement?: 'usage' | 'refund' | 'streamed' | 'late' | 'failed';
}

interface RequestState {
  reservationId?: string;
  counters: Counter[];
  reports: LimitReport[];
  promptTokens: number;
  model: string;
  streamed: string[];
  annotation: TokenLimitAnnotation;
}

export interface TokenLimitDeps {
  now?: () => number;
  store?: Store;
}

/** Largest streamed completion text kept for counting when the provider reports no usage (chars). */
const MAX_STREAMED_CHARS = 1 << 20;
const LOG_INTERVAL_MS = 5_000;

export function tokenLimitStage(config: TokenLimitConfig, deps: TokenLimitDeps = {}): RelayStage {
  const limits = config.limits.map(compileLimit);
  const now = deps.now ?? Date.now;
  let store: Store | undefined = deps.store;
  const getStore = () => (store ??= storeForPolicy(config));
  const guard = { failMode: config.fail_mode };
  let lastFailureLog = 0;

  function logStoreFailure(event: string, fields: Record<string, string>): void {
    const t = now();
    if (t - lastFailureLog < LOG_INTERVAL_MS) return;
    lastFailureLog = t;
    log.warn(event, { plugin: PLUGIN, policy: config.policy, ...fields });
  }

  return {
    plugin: PLUGIN,

    async onRequest(ex) {
      const facts = requestFacts(ex);
      const body = ex.body ?? {};
      const estimate = estimatePromptTokens(body, facts.model);
      const completion = ex.api === 'openai-chat' ? expectedCompletionTokens(body, config.default_completion_tokens) : 0;
      const at = now();
      const counters = limits.flatMap((limit) => countersFor(limit, ex, facts, at, estimate.tokens, completion));
      const annotation: TokenLimitAnnotation = {
        decision: limits.length === 0 ? 'no_limits' : 'allowed',
        estimated_prompt_tokens: estimate.tokens,
        estimate_exact: estimate.exact,
        tokenizer_family: estimate.family,
        expected_completion_tokens: completion,
        limits: [],
      };
      const state: RequestState = { counters, reports: [], promptTokens: estimate.tokens, model: facts.model, streamed: [], annotation };
      ex.pluginState[PLUGIN] = state;
      ex.annotations.token_limit = annotation;
      if (counters.length === 0) return;

      const items = counters.map((c) => ({ key: c.key, amount: c.amount, limit: c.limit.limit, windowMs: c.slot.endMs - at + 1000 }));
      const { result, reservationId } = await reserveWithinDeadline(getStore, items, config, guard.failMode);
      if (!result.ok) {
        logStoreFailure('token limit store unavailable', { reason: result.reason, fail_mode: result.failMode });
        state.reports = reports(limits, counters, undefined, at);
        annotation.limits = state.reports;
        if (result.failMode === 'open') {
          annotation.decision = 'store_failed_open';
          countDecision('store_failed_open');
          return;
        }
        annotation.decision = 'store_failed_closed';
        countDecision('store_failed_closed');
        return {
          status: 503,
          body: errorBody(ex.errorFormat, 503, 'token limits cannot be checked right now; try again shortly', 'token_limit_unavailable'),
          headers: { 'retry-after': '1' },
        };
      }
      const { ok, totals, rejectedIndex } = result.value;
      state.reports = reports(limits, counters, totals, at);
      annotation.limits = state.reports;
      if (config.response_headers) Object.assign(ex.responseHeaders, rateLimitHeaders(state.reports, estimate.tokens + completion));
      if (ok) {
        state.reservationId = reservationId;
        countDecision('allowed');
        return;
      }
      const blocking = counters[rejectedIndex ?? 0];
      annotation.decision = 'rejected';
      annotation.rejected_by = blocking.limit.name;
      countDecision('rejected', blocking.limit.name);
      return rejection(ex, blocking, at);
    },

    chunkHooks(ex): ChunkHooks | undefined {
      const state = ex.pluginState[PLUGIN] as RequestState | undefined;
      if (!state?.reservationId) return undefined;
      let kept = 0;
      return {
        onChunk(chunk) {
          for (const choice of chunk.choices ?? []) {
            const text = choice.delta?.content;
            if (typeof text === 'string' && kept < MAX_STREAMED_CHARS) {
              state.streamed.push(text);
              kept += text.length;
            }
          }
          return { chunks: [chunk] };
        },
        flush: () => [],
      };
    },

    async onComplete(ex) {
      const state = ex.pluginState[PLUGIN] as RequestState | undefined;
      // A request let through while the store was down is still counted afterwards, when the store may be back.
      if (!state || (!state.reservationId && state.annotation.decision !== 'store_failed_open')) return;
      const { actual, settlement } = actualUsage(ex, state);
      state.annotation.settlement = settlement;
      for (const report of state.reports) report.settled = 0;
      for (const c of state.counters) {
        const report = state.reports.find((r) => r.name === c.limit.name);
        if (report) report.settled = Math.max(report.settled ?? 0, actual[c.key] ?? 0);
      }
      try {
        if (state.reservationId) {
          if (await withDeadline(getStore().settle(state.reservationId, actual), config.store_timeout_ms * 4)) return;
          // The reservation expired before the answer ended (a very long stream): count what was used anyway.
          state.annotation.settlement = 'late';
        }
        await withDeadline(
          Promise.all(state.counters.filter((c) => (actual[c.key] ?? 0) > 0).map((c) => getStore().incrBy(c.key, actual[c.key], Math.max(1000, c.slot.endMs - now() + 1000)))),
          config.store_timeout_ms * 4,
        );
      } catch (err) {
        // The reservation stays counted until it expires (reservation_ttl_seconds): never less than the estimate.
        state.annotation.settlement = 'failed';
        countSettleFailure();
        logStoreFailure('token limit settle failed', { error: errorMessage(err) });
      }
    },
  };
}

const RETRY_DELAY_MS = 20;

/**
 * One atomic reservation, retried while the store refuses at once (a Redis connection still being opened at start-up,
 * or re-opened after a blip) until store_timeout_ms is spent: never longer. Each attempt has its own reservation id;
 * an attempt lost in flight (sent, connection dropped) is released by its TTL.
 */
async function reserveWithinDeadline(getStore: () => Store, items: ReserveItem[], config: TokenLimitConfig, failMode: FailMode) {
  const deadline = Date.now() + config.store_timeout_ms;
  for (;;) {
    const reservationId = randomUUID();
    const timeoutMs = Math.max(1, deadline - Date.now());
    const result = await guardedStoreCall(() => getStore().reserve({ id: reservationId, ttlMs: config.reservation_ttl_seconds * 1000, items }), { timeoutMs, failMode });
    if (result.ok || result.reason === 'timeout' || deadline - Date.now() <= RETRY_DELAY_MS) return { result, reservationId };
    await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
  }
}

function compileLimit(limit: LimitConfig, index: number): CompiledLimit {
  const name = limit.name ?? `limit${index + 1}`;
  const spec = parseWindow(limit.window);
  const definition = JSON.stringify([limit.limit, limit.window, limit.count, limit.by, limit.time_zone]);
  const digest = createHash('sha256').update(definition).digest('base64url').slice(0, 10);
  let last: WindowSlot | undefined;
  return {
    name,
    id: `${name}.${digest}`,
    slotAt(nowMs) {
      if (!last || nowMs < last.startMs || nowMs >= last.endMs) last = windowAt(spec, nowMs, limit.time_zone);
      return last;
    },
    spec,
    windowLabel: typeof spec === 'number' ? String(spec) : spec,
    timeZone: limit.time_zone,
    count: limit.count,
    by: limit.by,
    limit: limit.limit,
  };
}

/** The model the provider will see (llm-proxy's configured model wins) and the provider llm-proxy will call. */
function requestFacts(ex: Exchange): RequestFacts {
  if (ex.planned) return { model: ex.planned.model, provider: ex.provider ?? ex.planned.provider };
  const proxy = ex.ctx.plugins.find((p) => p.name === 'llm-proxy')?.config as { provider?: unknown; model?: unknown } | undefined;
  const model = typeof proxy?.model === 'string' ? proxy.model : typeof ex.body?.model === 'string' ? ex.body.model : '';
  const provider = ex.provider ?? (typeof proxy?.provider === 'string' ? proxy.provider : 'unknown');
  return { model, provider };
}

function amountFor(count: LimitConfig['count'], prompt: number, completion: number): number {
  switch (count) {
    case 'requests':
      return 1;
    case 'prompt':
      return prompt;
    case 'completion':
      return completion;
    default:
      return prompt + completion;
  }
}

function countersFor(limit: CompiledLimit, ex: Exchange, facts: RequestFacts, at: number, prompt: number, completion: number): Counter[] {
  const slot = limit.slotAt(at);
  const amount = amountFor(limit.count, prompt, completion);
  return counterSubjects(limit.by, ex, facts).map((subject) => ({ limit, slot, amount, key: `tl:${limit.id}:${slot.id}:${subject}` }));
}

function reports(limits: CompiledLimit[], counters: Counter[], totals: number[] | undefined, at: number): LimitReport[] {
  return limits.flatMap((limit) => {
    const mine = counters.map((c, i) => ({ c, i })).filter(({ c }) => c.limit === limit);
    if (mine.length === 0) return [];
    const { c } = mine[0];
    const report: LimitReport = {
      name: limit.name,
      window: limit.windowLabel,
      count: limit.count,
      limit: limit.limit,
      reserved: c.amount,
      reset_seconds: secondsUntilEnd(c.slot, at),
    };
    if (totals) report.remaining = Math.max(0, Math.min(...mine.map(({ i }) => limit.limit - totals[i])));
    return [report];
  });
}

/**
 * Kong's AI rate-limiting header style, one set per limit: X-AI-RateLimit-Limit-<window>-<name>,
 * X-AI-RateLimit-Remaining-<window>-<name>, X-AI-RateLimit-Reset-<window>-<name>; and X-AI-RateLimit-Query-Cost.
 */
export function rateLimitHeaders(limitReports: LimitReport[], cost: number): Record<string, string> {
  const headers: Record<string, string> = { 'x-ai-ratelimit-query-cost': String(cost) };
  for (const r of limitReports) {
    const suffix = `${r.window}-${r.name}`.toLowerCase();
    headers[`x-ai-ratelimit-limit-${suffix}`] = String(r.limit);
    if (r.remaining !== undefined) headers[`x-ai-ratelimit-remaining-${suffix}`] = String(r.remaining);
    headers[`x-ai-ratelimit-reset-${suffix}`] = String(r.reset_seconds);
  }
  return headers;
}

const UNIT: Record<LimitConfig['count'], string> = {
  total: 'tokens',
  prompt: 'prompt tokens',
  completion: 'completion tokens',
  requests: 'requests',
};

function windowText(limit: CompiledLimit): string {
  return typeof limit.spec === 'number' ? `per ${limit.spec} s` : `per ${limit.spec}${limit.timeZone === 'UTC' ? '' : ` (${limit.timeZone})`}`;
}

function rejection(ex: Exchange, blocking: Counter, at: number): EarlyAnswer {
  const { limit } = blocking;
  const rule = `${limit.limit} ${UNIT[limit.count]} ${windowText(limit)}`;
  const tooLarge = blocking.amount > limit.limit;
  const retryAfter = secondsUntilEnd(blocking.slot, at);
  const message = tooLarge
    ? `Token limit "${limit.name}" (${rule}) is smaller than this request needs (${blocking.amount}); lower max_tokens or the prompt`
    : `Token limit "${limit.name}" reached: ${rule}. Retry after ${retryAfter} s`;
  const headers: Record<string, string> = tooLarge ? {} : { 'retry-after': String(retryAfter), [`x-ai-ratelimit-retry-after-${limit.windowLabel}-${limit.name}`.toLowerCase()]: String(retryAfter) };
  return { status: 429, body: errorBody(ex.errorFormat, 429, message, tooLarge ? 'token_limit_request_too_large' : 'token_limit_exceeded'), headers };
}

/**
 * What the request really used, per counter: the provider's usage when known; nothing when the provider was not
 * called or failed before answering (another stage answered, an error status); for a stream cut without usage,
 * the prompt estimate plus the streamed text we counted.
 */
function actualUsage(ex: Exchange, state: RequestState): { actual: Record<string, number>; settlement: TokenLimitAnnotation['settlement'] } {
  const actual: Record<string, number> = {};
  let prompt: number;
  let completion: number;
  let settlement: TokenLimitAnnotation['settlement'];
  if (ex.usage) {
    prompt = ex.usage.promptTokens;
    completion = ex.usage.completionTokens;
    settlement = 'usage';
  } else if (ex.answeredBy !== undefined || ex.status === undefined || ex.status >= 400) {
    return { actual, settlement: 'refund' };
  } else {
    prompt = state.promptTokens;
    completion = state.streamed.length > 0 ? countTextTokens(state.streamed.join(''), state.model) : 0;
    settlement = 'streamed';
  }
  for (const c of state.counters) {
    const used = c.limit.count === 'total' && ex.usage ? ex.usage.totalTokens : amountFor(c.limit.count, prompt, completion);
    actual[c.key] = used;
  }
  return { actual, settlement };
}
