import { errorMessage, log } from '../runtime/logger';
import { errorBody } from '../runtime/relay/errors';
import type { ChatChunk, EarlyAnswer, Exchange, RelayStage } from '../runtime/relay/stage';
import { guardedStoreCall, type Guarded } from '../runtime/store/guard';
import { storeForPolicy } from '../runtime/store/plugin-store';
import type { Store } from '../runtime/store/types';
import { countTextTokens, estimatePromptTokens, expectedCompletionTokens } from '../runtime/tokenizer';
import { AggregateWriter, dayOf } from './aggregates';
import { AlertCenter, SpikeDetector, type Alert } from './alerts';
import { attributionOf, dimensionValues, type Attribution } from './attribution';
import { budgetCounters, budgetSubject, overBudgetMessage, periodLabel, type BudgetCounter } from './budgets';
import { PriceBook, priceOf, shippedPriceCatalog, type Price } from './catalog';
import { completionTokensWithin, costOf, usdString, worstCaseCost, type CostUsage } from './cost';
import { recordBudgetRejection, recordCost } from './metrics';
import type { CostConfig } from './schema';

const PLUGIN = 'llm-cost-attribution';
const DAY_MS = 86_400_000;

export interface CostStageDeps {
  store?: Store;
  now?: () => number;
  /** Every alert sent (besides log and webhook): tests and in-process sinks. */
  onAlert?: (a: Alert) => void;
}

/** Per-request state (the stage is shared by all requests with the same config). */
interface CostState {
  attribution: Attribution;
  price: Price | undefined;
  /** catalog | config | default | zero (unknown model counted at $0) */
  priceOrigin: string;
  counters: BudgetCounter[];
  reservationId?: string;
  reservedMicro: number;
  promptEstimate?: number;
  /** Streams with stop_stream_at_cap: the running cost may not pass this. */
  streamCapMicro?: number;
  streamedTokens: number;
  stoppedAtCap: boolean;
  unchecked?: string;
  costMicro?: number;
  estimated?: boolean;
}

interface ProxyView {
  provider?: string;
  model?: string;
}

const isPricedApi = (ex: Exchange) => ex.api === 'openai-chat' || ex.api === 'openai-embeddings';

export function costStage(config: CostConfig, deps: CostStageDeps = {}): RelayStage {
  const store = deps.store ?? storeForPolicy(config);
  const now = deps.now ?? Date.now;
  const book = new PriceBook(shippedPriceCatalog(), config.prices);
  const catalogVersion = book.catalog.version;
  const alerts = new AlertCenter(store, config.alerts.webhook, deps.onAlert);
  const spikes = new SpikeDetector(store, config.alerts.spike, alerts);
  const aggregates = new AggregateWriter(store, config.report_retention_days * DAY_MS);
  const guard = <T>(op: () => Promise<T>): Promise<Guarded<T>> =>
    guardedStoreCall(op, { timeoutMs: config.store_timeout_ms, failMode: config.fail_mode });

  /** Background work whose failure must not fail the request: logged and counted by guardedStoreCall. */
  const bestEffort = async (what: string, op: () => Promise<unknown>) => {
    const r = await guard(op);
    if (!r.ok) log.warn('cost.store_failed', { step: what, reason: r.reason });
  };

  function resolvePrice(provider: string | undefined, model: string): { price?: Price; origin: string } {
    const hit = book.lookup(provider, model);
    if (hit) return { price: hit, origin: hit.source === 'config' ? 'config' : 'catalog' };
    switch (config.unknown_model) {
      case 'default_price':
        return { price: priceOf({ model, ...config.default_price }, 'default'), origin: 'default' };
      case 'zero_and_alert':
        return { price: priceOf({ model, input: 0, output: 0 }, 'zero'), origin: 'zero' };
      default:
        return { origin: 'unknown' };
    }
  }

  async function alertUnknownModel(provider: string | undefined, model: string): Promise<void> {
    const t = now();
    await bestEffort('alert', () =>
      alerts.fireOnce(`unknown:${provider ?? ''}:${model}:${dayOf(t, 'UTC')}`, DAY_MS, {
        type: 'unknown_model',
        message: `Model ${model} has no price; its requests are counted at $0 (unknown_model: zero_and_alert)`,
        model,
        provider,
      }),
    );
  }

  async function reserve(id: string, counters: BudgetCounter[], amount: number) {
    return guard(() =>
      store.reserve({
        id,
        ttlMs: config.reservation_ttl_seconds * 1000,
        items: counters.map((c) => ({
          key: c.key,
          amount,
          limit: c.limitMicro,
          windowMs: c.ttlMs,
          ...(c.earlier.length > 0 ? { window: { earlier: c.earlier } } : {}),
        })),
      }),
    );
  }

  async function refuse(ex: Exchange, state: CostState, c: BudgetCounter, current: number, worst: number, t: number): Promise<EarlyAnswer> {
    recordBudgetRejection();
    const message = overBudgetMessage(c, current, worst);
    log.info('cost.budget_exceeded', { budget: c.budget.name, subject: budgetSubject(c), period: periodLabel(c.budget) });
    await Promise.all([
      bestEffort('alert', () =>
        alerts.fireOnce(`exhausted:${c.alertId}`, c.alertTtlMs, {
          type: 'budget_exhausted',
          message,
          budget: c.budget.name,
          period: periodLabel(c.budget),
          window_start: new Date(c.slot.startMs).toISOString(),
          dimensions: Object.fromEntries(c.budget.by.map((d, i) => [d, c.values[i]])),
          limit_usd: usdString(c.limitMicro),
          spent_usd: usdString(current),
        }),
      ),
      bestEffort('aggregate', () => aggregates.add(dayOf(t, config.report_time_zone), state.attribution, { rejected: 1 })),
    ]);
    ex.annotations.cost = { ...annotation(state, 0), rejected_by_budget: c.budget.name };
    return {
      status: config.over_budget_status,
      body: errorBody(ex.errorFormat, config.over_budget_status, message, 'budget_exceeded'),
      headers: { 'retry-after': String(Math.max(1, Math.ceil((c.releaseAtMs - t) / 1000))) },
    };
  }

  /** Caps the completion the provider may produce, so that the reservation holds. */
  function capCompletion(ex: Exchange, provider: string | undefined, tokens: number): void {
    const body = ex.body!;
    const limit = Math.min(expectedCompletionTokens(body, Number.MAX_SAFE_INTEGER), tokens);
    // lower the field(s) the client used (OpenAI refuses both at once); add the provider's own when there is none
    const present = (['max_completion_tokens', 'max_tokens'] as const).filter((f) => typeof body[f] === 'number');
    if (present.length === 0) present.push(provider === 'openai' ? 'max_completion_tokens' : 'max_tokens');
    for (const field of present) body[field] = limit;
  }

  function annotation(state: CostState, micro: number): Record<string, unknown> {
    const a = state.attribution;
    return {
      usd: usdString(micro),
      micro_usd: micro,
      estimated: state.estimated ?? false,
      catalog_version: catalogVersion,
      price_source: state.priceOrigin === 'catalog' ? `catalog:${catalogVersion}` : state.priceOrigin,
      price_effective_date: state.price?.effectiveDate,
      tags: a.tags,
      attribution: { consumer: a.consumer, consumer_groups: a.consumer_groups, route: a.route, service: a.service, provider: a.provider, model: a.model },
      reserved_micro_usd: state.reservedMicro,
      budget_check: state.unchecked ? `skipped (${state.unchecked})` : state.counters.length > 0 ? 'reserved' : 'none',
      stopped_at_cap: state.stoppedAtCap || undefined,
      budgets: state.counters.map((c) => ({
        name: c.budget.name,
        subject: budgetSubject(c),
        period: periodLabel(c.budget),
        window_start: new Date(c.slot.startMs).toISOString(),
        limit_usd: usdString(c.limitMicro),
      })),
    };
  }

  function actualCost(ex: Exchange, state: CostState): { micro: number; usage?: CostUsage; price?: Price; estimated: boolean } {
    const settledModel = ex.model || state.attribution.model;
    const price = (ex.model ? book.lookup(ex.provider, ex.model) : undefined) ?? state.price;
    if (!price) return { micro: 0, estimated: false };
    if (ex.usage) return { micro: costOf(ex.usage as CostUsage, price).microUsd, usage: ex.usage, price, estimated: ex.usage.estimated };
    // No usage from the provider: a stream we stopped, or one cut short. Charge what we saw (never less than 0).
    const answered = state.streamedTokens > 0 || (ex.status !== undefined && ex.status < 300 && !ex.error);
    if (!answered || !ex.body) return { micro: 0, price, estimated: false };
    const prompt = state.promptEstimate ?? estimatePromptTokens(ex.body, settledModel).tokens;
    const usage = { promptTokens: prompt, completionTokens: state.streamedTokens };
    return { micro: costOf(usage, price).microUsd, usage, price, estimated: true };
  }

  async function settle(ex: Exchange, state: CostState): Promise<void> {
    if (state.costMicro === undefined) {
      const actual = actualCost(ex, state);
      state.costMicro = actual.micro;
      state.estimated = actual.estimated;
      if (actual.usage) (state as { usage?: CostUsage }).usage = actual.usage;
    }
    const micro = state.costMicro;
    const t = now();
    if (ex.provider) state.attribution.provider = ex.provider;
    if (ex.model) state.attribution.model = ex.model;
    const usage = (state as { usage?: CostUsage }).usage;
    const work: Promise<void>[] = [];
    if (state.reservationId) {
      const id = state.reservationId;
      work.push(bestEffort('settle', () => store.settle(id, Object.fromEntries(state.counters.map((c) => [c.key, micro])))));
    }
    if (micro > 0) {
      for (const c of state.counters) work.push(bestEffort('alert', () => thresholdAlerts(c, micro)));
      const spikeValue = dimensionValues(state.attribution, config.alerts.spike.by)[0];
      work.push(bestEffort('spike', () => spikes.observe(spikeValue, micro, t)));
    }
    work.push(
      bestEffort('aggregate', () =>
        aggregates.add(dayOf(t, config.report_time_zone), state.attribution, {
          micro_usd: micro,
          requests: 1,
          prompt_tokens: usage?.promptTokens,
          completion_tokens: usage?.completionTokens,
        }),
      ),
    );
    await Promise.all(work);
    recordCost(state.attribution, micro);
    ex.annotations.cost = annotation(state, micro);
  }

  async function thresholdAlerts(c: BudgetCounter, micro: number): Promise<void> {
    let spent = await store.incrBy(c.spentKey, micro, c.ttlMs);
    if (c.spentEarlier.length > 0) spent += (await store.totals(c.spentEarlier)).reduce((a, b) => a + b, 0);
    for (const threshold of c.budget.thresholds) {
      if (spent < threshold * c.limitMicro) continue;
      await alerts.fireOnce(`th:${c.alertId}:${threshold}`, c.alertTtlMs, {
        type: 'budget_threshold',
        message: `Budget ${c.budget.name} for ${budgetSubject(c)} reached ${Math.round(threshold * 100)}%: $${usdString(spent)} of $${usdString(c.limitMicro)} per ${periodLabel(c.budget)}`,
        budget: c.budget.name,
        period: periodLabel(c.budget),
        window_start: new Date(c.slot.startMs).toISOString(),
        dimensions: Object.fromEntries(c.budget.by.map((d, i) => [d, c.values[i]])),
        threshold,
        limit_usd: usdString(c.limitMicro),
        spent_usd: usdString(spent),
      });
    }
  }

  function countChunkTokens(chunk: ChatChunk, model: string): number {
    let tokens = 0;
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string' && delta.content) tokens += countTextTokens(delta.content, model);
      const calls = (delta as { tool_calls?: { function?: { arguments?: unknown } }[] }).tool_calls;
      if (Array.isArray(calls)) {
        for (const call of calls) if (typeof call.function?.arguments === 'string') tokens += countTextTokens(call.function.arguments, model);
      }
    }
    return tokens;
  }

  return {
    plugin: PLUGIN,

    async onRequest(ex) {
      if (!isPricedApi(ex) || !ex.body) return;
      const proxy = (ex.ctx.plugins.find((p) => p.name === 'llm-proxy')?.config ?? {}) as ProxyView;
      const provider = ex.planned?.provider ?? proxy.provider;
      const model = ex.planned?.model ?? String(proxy.model ?? ex.body.model ?? '');
      const { price, origin } = resolvePrice(provider, model);
      const state: CostState = {
        attribution: attributionOf(ex.identity, ex.headers, config.tags, provider, model),
        price,
        priceOrigin: origin,
        counters: [],
        reservedMicro: 0,
        streamedTokens: 0,
        stoppedAtCap: false,
      };
      ex.pluginState[PLUGIN] = state;
      if (!price) {
        ex.annotations.cost = { ...annotation(state, 0), rejected_unpriced_model: model };
        log.info('cost.unpriced_model_refused', { model, provider });
        const message = `Model ${model || '(none)'} has no price in the gateway's price catalog; requests to unpriced models are refused`;
        return { status: 403, body: errorBody(ex.errorFormat, 403, message, 'model_not_priced') };
      }
      if (origin === 'zero') await alertUnknownModel(provider, model);

      const t = now();
      state.counters = budgetCounters(config.budgets, state.attribution, t);
      if (state.counters.length === 0) return;

      const estimate = estimatePromptTokens(ex.body, model);
      const prompt = estimate.exact ? estimate.tokens : Math.ceil(estimate.tokens * (1 + config.estimate_margin));
      state.promptEstimate = prompt;
      const isChat = ex.api === 'openai-chat';
      const choices = typeof ex.body.n === 'number' && Number.isInteger(ex.body.n) && ex.body.n > 1 ? ex.body.n : 1;
      const perChoice = isChat ? expectedCompletionTokens(ex.body, config.default_max_completion_tokens) : 0;
      if (isChat && config.enforce_max_completion_tokens && expectedCompletionTokens(ex.body, -1) < 0) {
        capCompletion(ex, provider, config.default_max_completion_tokens);
      }
      const worst = worstCaseCost(prompt, perChoice * choices, price);

      const first = await reserve(`${ex.ctx.id}:cost`, state.counters, worst);
      if (!first.ok) return storeUnavailable(ex, state, first.reason);
      if (first.value.ok) {
        state.reservationId = `${ex.ctx.id}:cost`;
        state.reservedMicro = worst;
        if (config.stop_stream_at_cap && ex.stream) state.streamCapMicro = worst;
        return;
      }
      const rejected = state.counters[first.value.rejectedIndex ?? 0];
      const current = first.value.totals[first.value.rejectedIndex ?? 0];
      if (config.stop_stream_at_cap && ex.stream && isChat && choices === 1) {
        // Admit the stream with what is left of the tightest budget; it ends when that is spent.
        const headroom = Math.min(...state.counters.map((c, i) => c.limitMicro - first.value.totals[i]));
        const tokens = completionTokensWithin(headroom, prompt, price);
        if (tokens > 0) {
          const second = await reserve(`${ex.ctx.id}:cost:cap`, state.counters, headroom);
          if (second.ok && second.value.ok) {
            state.reservationId = `${ex.ctx.id}:cost:cap`;
            state.reservedMicro = headroom;
            state.streamCapMicro = headroom;
            capCompletion(ex, provider, tokens);
            return;
          }
          if (!second.ok) return storeUnavailable(ex, state, second.reason);
        }
      }
      return refuse(ex, state, rejected, current, worst, t);
    },

    beforeAnswer(ex) {
      const state = ex.pluginState[PLUGIN] as CostState | undefined;
      if (!state || !config.cost_headers || ex.stream) return; // a stream's cost is known only at its end
      const actual = actualCost(ex, state);
      state.costMicro = actual.micro;
      state.estimated = actual.estimated;
      if (actual.usage) (state as { usage?: CostUsage }).usage = actual.usage;
      ex.responseHeaders['x-llm-cost-usd'] = usdString(actual.micro);
      ex.responseHeaders['x-llm-price-catalog'] = state.priceOrigin === 'catalog' ? catalogVersion : state.priceOrigin;
    },

    chunkHooks(ex) {
      const state = ex.pluginState[PLUGIN] as CostState | undefined;
      if (!state?.price || state.streamCapMicro === undefined) return undefined;
      const price = state.price;
      const model = state.attribution.model;
      const prompt = state.promptEstimate ?? 0;
      const cap = state.streamCapMicro;
      return {
        onChunk(chunk) {
          if (state.stoppedAtCap) return { chunks: [] };
          const tokens = countChunkTokens(chunk, model);
          if (worstCaseCost(prompt, state.streamedTokens + tokens, price) <= cap) {
            state.streamedTokens += tokens;
            return { chunks: [chunk] };
          }
          state.stoppedAtCap = true;
          const finish: ChatChunk = { ...chunk, choices: [{ index: 0, delta: {}, finish_reason: 'length' }] };
          delete finish.usage;
          return { chunks: [finish], stop: true };
        },
        flush: () => [],
      };
    },

    async onComplete(ex) {
      const state = ex.pluginState[PLUGIN] as CostState | undefined;
      if (!state) {
        // an earlier stage answered (cache hit, block): the event still carries the attribution, at $0
        if (ex.answeredBy && isPricedApi(ex)) {
          const a = attributionOf(ex.identity, ex.headers, config.tags, ex.provider, typeof ex.body?.model === 'string' ? ex.body.model : undefined);
          ex.annotations.cost = { usd: usdString(0), micro_usd: 0, catalog_version: catalogVersion, tags: a.tags, answered_by: ex.answeredBy };
        }
        return;
      }
      if (ex.answeredBy === PLUGIN) return;
      try {
        await settle(ex, state);
      } catch (err) {
        log.error('cost.settle_failed', { error: errorMessage(err) });
      }
    },
  };

  function storeUnavailable(ex: Exchange, state: CostState, reason: string): EarlyAnswer | undefined {
    log.warn('cost.budget_unchecked', { reason, fail_mode: config.fail_mode });
    if (config.fail_mode === 'open') {
      state.unchecked = reason;
      return undefined;
    }
    ex.annotations.cost = annotation(state, 0);
    return {
      status: 503,
      body: errorBody(ex.errorFormat, 503, 'budgets cannot be checked right now; try again shortly', 'budget_store_unavailable'),
      headers: { 'retry-after': '5' },
    };
  }
}
