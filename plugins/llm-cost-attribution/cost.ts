import type { Usage } from '../runtime/relay/stage';
import type { Price, Rates } from './catalog';

/**
 * The normalised usage a cost is computed from (the relay's Usage, plus cache writes where a provider reports them).
 * Conventions, whatever the provider's own shape:
 * - promptTokens counts every input token: uncached + cached reads + cache writes;
 * - cachedTokens ⊆ promptTokens (read from the provider's prompt cache);
 * - cacheWriteTokens ⊆ promptTokens (written to it: Anthropic cache_creation_input_tokens, Bedrock cacheWriteInputTokens);
 * - reasoningTokens ⊆ completionTokens (OpenAI reasoning_tokens, Gemini thoughtsTokenCount, Anthropic thinking).
 */
export type CostUsage = Pick<Usage, 'promptTokens' | 'completionTokens'> &
  Partial<Pick<Usage, 'cachedTokens' | 'reasoningTokens'>> & { cacheWriteTokens?: number };

export interface CostBreakdown {
  /** Rounded up to a whole micro-USD per request (so a request never costs less than its exact price). */
  microUsd: number;
  tokens: { uncachedInput: number; cachedInput: number; cacheWrite: number; output: number; reasoning: number };
  tier: number | undefined;
}

const nonNegative = (n: number | undefined): number => (n !== undefined && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0);

export function ratesFor(price: Price, promptTokens: number): { rates: Rates; tier: number | undefined } {
  let rates = price.base;
  let tier: number | undefined;
  for (const t of price.tiers) {
    if (promptTokens > t.abovePromptTokens) {
      rates = t.rates;
      tier = t.abovePromptTokens;
    }
  }
  return { rates, tier };
}

/** Exact arithmetic: tokens × pico-USD per token are integers (far below 2^53), divided once at the end. */
export function costOf(usage: CostUsage, price: Price): CostBreakdown {
  const prompt = nonNegative(usage.promptTokens);
  const completion = price.kind === 'embedding' ? 0 : nonNegative(usage.completionTokens);
  const cachedInput = Math.min(nonNegative(usage.cachedTokens), prompt);
  const cacheWrite = Math.min(nonNegative(usage.cacheWriteTokens), prompt - cachedInput);
  const reasoning = Math.min(nonNegative(usage.reasoningTokens), completion);
  const { rates, tier } = ratesFor(price, prompt);
  const tokens = { uncachedInput: prompt - cachedInput - cacheWrite, cachedInput, cacheWrite, output: completion - reasoning, reasoning };
  const pico =
    tokens.uncachedInput * rates.input +
    tokens.cachedInput * rates.cachedInput +
    tokens.cacheWrite * rates.cacheWrite +
    tokens.output * rates.output +
    tokens.reasoning * rates.reasoning;
  return { microUsd: Math.ceil(pico / 1_000_000), tokens, tier };
}

/**
 * The most a request can cost: every prompt token at the (tiered) input price — no cache discount assumed, and
 * cache writes, which cost more than plain input at Anthropic, at the cache-write price when that is higher —
 * and every completion token at the higher of the output and reasoning prices.
 */
export function worstCaseCost(promptTokens: number, maxCompletionTokens: number, price: Price): number {
  const prompt = nonNegative(promptTokens);
  const completion = price.kind === 'embedding' ? 0 : nonNegative(maxCompletionTokens);
  const { rates } = ratesFor(price, prompt);
  const pico = prompt * Math.max(rates.input, rates.cacheWrite, rates.cachedInput) + completion * Math.max(rates.output, rates.reasoning);
  return Math.ceil(pico / 1_000_000);
}

/** Completion tokens that fit in `microUsd` after the prompt's worst-case cost (0 when none do). */
export function completionTokensWithin(microUsd: number, promptTokens: number, price: Price): number {
  const { rates } = ratesFor(price, promptTokens);
  const perToken = Math.max(rates.output, rates.reasoning);
  const left = microUsd * 1_000_000 - promptTokens * Math.max(rates.input, rates.cacheWrite, rates.cachedInput);
  if (left <= 0) return 0;
  return perToken === 0 ? Number.MAX_SAFE_INTEGER : Math.floor(left / perToken);
}

/** micro-USD as a USD string with 6 decimals (header values, events). */
export function usdString(microUsd: number): string {
  const sign = microUsd < 0 ? '-' : '';
  const abs = Math.abs(Math.round(microUsd));
  return `${sign}${Math.floor(abs / 1_000_000)}.${String(abs % 1_000_000).padStart(6, '0')}`;
}

/** micro-USD as dollars and cents for people (messages), rounded to the nearest cent. */
export function dollars(microUsd: number): string {
  return `$${(Math.round(microUsd / 10_000) / 100).toFixed(2)}`;
}

export const microFromUsd = (usd: number): number => Math.round(usd * 1_000_000);
