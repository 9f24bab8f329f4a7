import { randomId } from '../random-id';

export type TicketRejection = 'missing' | 'unknown' | 'reused' | 'expired';

interface Entry<T> {
  value: T;
  expiresAt: number;
}

/**
 * Single-use, expiring tickets: llm-proxy issues one in Kong's access phase and puts it in the upstream path;
 * the relay redeems it once. 128 random bits: a guessed or altered ticket is simply unknown. Redeemed tickets are
 * remembered until they would have expired, so a replay is told apart from a forgery.
 */
export class TicketBook<T> {
  private readonly live = new Map<string, Entry<T>>();
  private readonly redeemed = new Map<string, number>();
  readonly rejections: Record<TicketRejection, number> = { missing: 0, unknown: 0, reused: 0, expired: 0 };
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly ttlMs: number = 60_000) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(ttlMs, 10_000));
    this.sweeper.unref();
  }

  /** Tickets issued and not yet redeemed or expired (a soak test watches it stay flat). */
  get size(): number {
    return this.live.size;
  }

  issue(value: T): string {
    const ticket = randomId(16);
    this.live.set(ticket, { value, expiresAt: Date.now() + this.ttlMs });
    return ticket;
  }

  redeem(ticket: string | undefined): { ok: true; value: T } | { ok: false; reason: TicketRejection } {
    const reason = this.check(ticket);
    if (typeof reason !== 'string') return { ok: true, value: reason.value };
    this.rejections[reason]++;
    return { ok: false, reason };
  }

  private check(ticket: string | undefined): Entry<T> | TicketRejection {
    if (!ticket) return 'missing';
    const entry = this.live.get(ticket);
    if (!entry) return this.redeemed.has(ticket) ? 'reused' : 'unknown';
    this.live.delete(ticket);
    if (entry.expiresAt < Date.now()) return 'expired';
    this.redeemed.set(ticket, entry.expiresAt);
    return entry;
  }

  get outstanding(): number {
    return this.live.size;
  }

  sweep(now = Date.now()): void {
    // Expired tickets linger one more TTL so that a late redemption is reported as expired, not unknown.
    for (const [t, e] of this.live) if (e.expiresAt + this.ttlMs < now) this.live.delete(t);
    for (const [t, exp] of this.redeemed) if (exp < now) this.redeemed.delete(t);
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
