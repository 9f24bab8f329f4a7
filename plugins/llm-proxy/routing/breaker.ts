import { storeForPolicy } from '../../runtime/store/plugin-store';
import type { Store } from '../../runtime/store/types';
import { circuitBreakerSchema, type CircuitBreakerConfig } from './schema';

export type BreakerState = 'closed' | 'open' | 'half_open';
/** Gauge values: Prometheus cannot hold strings. */
export const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/** How often a node re-reads a target's shared open flag from the store (the check itself stays synchronous). */
const SHARED_REFRESH_MS = 1000;

/**
 * One target's circuit breaker. Opens after `failure_threshold` consecutive failures, or when the error rate over
 * `window_s` (counted in one-second buckets) reaches `error_rate` with at least `min_requests` requests; after
 * `open_s` it lets `half_open_probes` requests through: a success closes it, a failure opens it again.
 */
export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private consecutive = 0;
  private openedUntil = 0;
  private probes = 0;
  /** [second, requests, failures] per one-second bucket of the window. */
  private readonly buckets: [number, number, number][] = [];
  /** An open breaker reported by another node through the store, until this time. */
  private sharedOpenUntil = 0;
  private sharedCheckedAt = 0;

  constructor(
    readonly key: string,
    private config: CircuitBreakerConfig,
    private readonly shared?: Store,
  ) {}

  configure(config: CircuitBreakerConfig): void {
    this.config = config;
  }

  stateAt(now = Date.now()): BreakerState {
    if (this.state === 'open' && now >= this.openedUntil) {
      this.state = 'half_open';
      this.probes = 0;
    }
    return this.state;
  }

  /** Whether a request may go to this target now; a half-open breaker counts the probe it lets through. */
  tryPass(now = Date.now()): boolean {
    if (!this.config.enabled) return true;
    this.refreshShared(now);
    if (this.state === 'closed' && now < this.sharedOpenUntil) return false;
    const state = this.stateAt(now);
    if (state === 'closed') return true;
    if (state === 'open') return false;
    if (this.probes >= this.config.half_open_probes) return false;
    this.probes++;
    return true;
  }

  /** Would tryPass succeed (without taking a probe)? For ordering candidates. */
  isAvailable(now = Date.now()): boolean {
    if (!this.config.enabled) return true;
    if (this.state === 'closed') return now >= this.sharedOpenUntil;
    const state = this.stateAt(now);
    return state === 'half_open' && this.probes < this.config.half_open_probes;
  }

  onSuccess(now = Date.now()): void {
    if (!this.config.enabled) return;
    this.count(now, false);
    this.consecutive = 0;
    if (this.state !== 'closed') {
      this.state = 'closed';
      this.buckets.length = 0;
      this.sharedOpenUntil = 0;
      void this.shared?.del(this.sharedKey()).catch(() => undefined);
    }
  }

  onFailure(now = Date.now()): void {
    if (!this.config.enabled) return;
    this.count(now, true);
    this.consecutive++;
    const state = this.stateAt(now);
    if (state === 'half_open' || (state === 'closed' && this.tripped(now))) this.open(now);
  }

  /** A request that passed but was not sent (e.g. its queue wait timed out): gives its probe back. */
  release(): void {
    if (this.state === 'half_open' && this.probes > 0) this.probes--;
  }

  private open(now: number): void {
    this.state = 'open';
    this.openedUntil = now + this.config.open_s * 1000;
    this.probes = 0;
    this.consecutive = 0;
    void this.shared?.set(this.sharedKey(), String(this.openedUntil), Math.ceil(this.config.open_s * 1000)).catch(() => undefined);
  }

  private tripped(now: number): boolean {
    if (this.consecutive >= this.config.failure_threshold) return true;
    let requests = 0;
    let failures = 0;
    const from = Math.floor(now / 1000) - this.config.window_s;
    for (const [second, r, f] of this.buckets) {
      if (second <= from) continue;
      requests += r;
      failures += f;
    }
    return requests >= this.config.min_requests && failures / requests >= this.config.error_rate;
  }

  private count(now: number, failed: boolean): void {
    const second = Math.floor(now / 1000);
    let last = this.buckets[this.buckets.length - 1];
    if (!last || last[0] !== second) {
      last = [second, 0, 0];
      this.buckets.push(last);
      while (this.buckets.length > this.config.window_s + 1) this.buckets.shift();
    }
    last[1]++;
    if (failed) last[2]++;
  }

  private sharedKey(): string {
    return `llm-proxy:breaker:${this.key}`;
  }

  private refreshShared(now: number): void {
    if (!this.shared || now - this.sharedCheckedAt < SHARED_REFRESH_MS) return;
    this.sharedCheckedAt = now;
    this.shared.get(this.sharedKey()).then(
      (value) => void (this.sharedOpenUntil = value ? Number(value) || 0 : 0),
      () => undefined, // the store is an optional extra: local state still protects this node
    );
  }
}

/** The breaker of a target that has none (not listed in the metrics). */
export const ALWAYS_CLOSED = new CircuitBreaker('none', circuitBreakerSchema.parse({ enabled: false }));

/**
 * The breakers of the process, by target key: one plugin server serves every Kong worker of the node, so the state
 * is shared by all of them, and by every llm-proxy instance that routes to the same target.
 */
const breakers = new Map<string, CircuitBreaker>();

export function breakerFor(key: string, config: CircuitBreakerConfig): CircuitBreaker {
  let breaker = breakers.get(key);
  if (!breaker) {
    const shared = config.shared_via_store
      ? storeForPolicy({ policy: 'redis', redis: config.redis, fail_mode: 'open', store_timeout_ms: config.redis.timeout_ms })
      : undefined;
    breaker = new CircuitBreaker(key, config, shared);
    breakers.set(key, breaker);
  } else breaker.configure(config);
  return breaker;
}

/** Current state of every breaker, for the metrics. */
export function breakerStates(now = Date.now()): { target: string; state: BreakerState }[] {
  return [...breakers.values()].map((b) => ({ target: b.key, state: b.stateAt(now) }));
}

/** Tests: forget every breaker. */
export function resetBreakers(): void {
  breakers.clear();
}
