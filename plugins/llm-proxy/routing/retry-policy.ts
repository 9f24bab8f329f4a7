import type { IncomingHttpHeaders } from 'node:http';
import type { RetriesConfig } from './schema';

/** Failures worth another attempt (here or on another target): the provider may well answer next time. */
const RETRYABLE_STATUSES = new Set([408, 409, 429, 529]);
const RETRYABLE_CODES = new Set(['upstream_timeout', 'upstream_unreachable', 'upstream_malformed']);

/** `upstreamStatus`: the provider's own HTTP status when it answered; `code`: the gateway's error code otherwise. */
export function isRetryable(upstreamStatus: number | undefined, code: string): boolean {
  if (upstreamStatus !== undefined) return RETRYABLE_STATUSES.has(upstreamStatus) || (upstreamStatus >= 500 && upstreamStatus < 600);
  return RETRYABLE_CODES.has(code);
}

/** Exponential backoff with full jitter: uniform in [0, min(max, base·2^(retry-1))]. */
export function backoffMs(retry: number, config: Pick<RetriesConfig, 'base_backoff_ms' | 'max_backoff_ms'>, random: () => number = Math.random): number {
  const ceiling = Math.min(config.max_backoff_ms, config.base_backoff_ms * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
};

/** OpenAI's reset durations: `1s`, `6m0s`, `20ms`, `1h2m3.5s`. */
function parseGoDuration(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text.trim()) return undefined;
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u], 0);
}

/** Delta-seconds or an HTTP date (Retry-After), or an RFC 3339 instant (Anthropic's *-reset headers). */
function parseSecondsOrDate(text: string, now: number): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text.trim())) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * How long the provider asked us to wait, from Retry-After, OpenAI's x-ratelimit-reset-* or Anthropic's
 * anthropic-ratelimit-*-reset headers (the longest of those present); undefined when it said nothing.
 */
export function retryAfterMs(headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const waits: number[] = [];
  const retryAfter = header(headers, 'retry-after-ms');
  if (retryAfter !== undefined && Number.isFinite(Number(retryAfter))) waits.push(Number(retryAfter));
  else {
    const ra = header(headers, 'retry-after');
    const ms = ra === undefined ? undefined : parseSecondsOrDate(ra, now);
    if (ms !== undefined) waits.push(ms);
  }
  // rate-limit resets matter only when that limit is exhausted; a 429 without Retry-After is such a case
  if (waits.length === 0) {
    for (const [name] of Object.entries(headers)) {
      const value = header(headers, name);
      if (value === undefined) continue;
      const ms = name.startsWith('x-ratelimit-reset-')
        ? parseGoDuration(value)
        : name.startsWith('anthropic-ratelimit-') && name.endsWith('-reset')
          ? parseSecondsOrDate(value, now)
          : undefined;
      if (ms !== undefined && remainingIsZero(headers, name)) waits.push(ms);
    }
  }
  return waits.length > 0 ? Math.max(...waits) : undefined;
}

/** x-ratelimit-reset-tokens pairs with x-ratelimit-remaining-tokens; Anthropic's …-reset with …-remaining. */
function remainingIsZero(headers: IncomingHttpHeaders, resetName: string): boolean {
  const remainingName = resetName.startsWith('x-') ? resetName.replace('-reset-', '-remaining-') : resetName.replace(/-reset$/, '-remaining');
  const remaining = header(headers, remainingName);
  return remaining === undefined || Number(remaining) <= 0;
}
