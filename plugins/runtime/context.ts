import { randomId } from './random-id';
import type { PluginName } from './plugin-definition';

/** Who is calling, as Kong established it (never taken from headers a client could send). */
export interface Identity {
  consumer?: { id: string; username?: string; custom_id?: string; tags?: string[] };
  credentialId?: string;
  consumerGroups: string[];
  route?: { id: string; name?: string };
  service?: { id: string; name?: string };
}

/** What the relay learns from Kong's upstream request itself (Kong sets these; a client cannot). */
export interface ForwardedRequest {
  /** The path Kong forwards (service path + the route's remainder) and its query string. */
  path: string;
  query: string;
  /** Kong's X-Real-IP: the client address as Kong determined it (trusted_ips / real_ip_header). */
  clientIp?: string;
  /** Kong's X-Kong-Request-Id (Kong ≥ 3.5), to join our usage events with Kong's logs. */
  kongRequestId?: string;
}

/** A plugin instance Kong ran for this request, with its parsed configuration. */
export interface RegisteredPlugin {
  name: PluginName;
  priority: number;
  config: unknown;
}

/** Per-request state shared in-process by the five plugins, from Kong's access phase to the relay. */
export interface RequestContext {
  id: string;
  createdAt: number;
  plugins: RegisteredPlugin[];
  identity?: Identity;
}

/**
 * Contexts live from the first of our plugins' access handlers until the relay picks them up. One that is never
 * picked up (a later Kong plugin answered, the client went away) expires after `ttlMs`.
 */
export class ContextRegistry {
  private readonly contexts = new Map<string, RequestContext>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly ttlMs: number = 120_000) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(ttlMs, 10_000));
    this.sweeper.unref();
  }

  create(): RequestContext {
    const ctx: RequestContext = { id: randomId(12), createdAt: Date.now(), plugins: [] };
    this.contexts.set(ctx.id, ctx);
    return ctx;
  }

  get(id: unknown): RequestContext | undefined {
    return typeof id === 'string' ? this.contexts.get(id) : undefined;
  }

  /** Removes and returns the context (the relay owns it from then on). */
  take(id: string): RequestContext | undefined {
    const ctx = this.contexts.get(id);
    this.contexts.delete(id);
    return ctx;
  }

  get size(): number {
    return this.contexts.size;
  }

  sweep(now = Date.now()): void {
    for (const [id, ctx] of this.contexts) {
      if (now - ctx.createdAt > this.ttlMs) this.contexts.delete(id);
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    this.contexts.clear();
  }
}

/** The key under kong.ctx.shared that carries the context id between our plugins' access handlers. */
export const CTX_SHARED_KEY = 'llm_suite_ctx';
