import { backoffMs, isRetryable, retryAfterMs } from '../../../plugins/llm-proxy/routing/retry-policy';

describe('retry policy', () => {
  it('retries connect errors, timeouts, 408/409/429/5xx and 529, never 400/401/403/404', () => {
    for (const status of [408, 409, 429, 500, 502, 503, 504, 529]) expect(isRetryable(status, 'upstream_error')).toBe(true);
    for (const status of [400, 401, 403, 404, 413, 422]) expect(isRetryable(status, 'upstream_rejected')).toBe(false);
    for (const code of ['upstream_timeout', 'upstream_unreachable', 'upstream_malformed']) expect(isRetryable(undefined, code)).toBe(true);
    for (const code of ['client_closed', 'provider_key_missing', 'invalid_body']) expect(isRetryable(undefined, code)).toBe(false);
  });

  it('backs off exponentially with full jitter, capped by max_backoff_ms', () => {
    const config = { base_backoff_ms: 100, max_backoff_ms: 1_000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, config, () => 0.999999))).toEqual([99, 199, 399, 799, 999]);
    expect(backoffMs(3, config, () => 0)).toBe(0);
    const draws = Array.from({ length: 1_000 }, () => backoffMs(2, config));
    expect(Math.max(...draws)).toBeLessThan(200);
    expect(new Set(draws).size).toBeGreaterThan(50); // jittered, not a constant
  });

  it('reads Retry-After as seconds, as an HTTP date, and retry-after-ms', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs({ 'retry-after': '7' }, now)).toBe(7_000);
    expect(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }, now)).toBe(3_000);
    expect(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '7' }, now)).toBe(250);
    expect(retryAfterMs({}, now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
  });

  it('reads OpenAI\'s and Anthropic\'s rate-limit resets of exhausted limits only', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs({ 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '1m2.5s' }, now)).toBe(62_500);
    expect(retryAfterMs({ 'x-ratelimit-remaining-requests': '10', 'x-ratelimit-reset-requests': '20ms' }, now)).toBeUndefined();
    expect(
      retryAfterMs({ 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': '2026-01-01T00:00:04Z' }, now),
    ).toBe(4_000);
    expect(retryAfterMs({ 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '6m0s', 'x-ratelimit-reset-requests': '1s' }, now)).toBe(360_000);
  });
});
