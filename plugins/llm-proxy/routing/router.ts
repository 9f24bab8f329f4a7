import type { ProviderTarget } from '../../providers/types';
import { GatewayError } from '../../runtime/relay/errors';
import type { Exchange } from '../../runtime/relay/stage';
import { estimatePromptTokens } from '../../runtime/tokenizer';
import type { LlmProxyConfig } from '../schema';
import { upstreamFailure } from '../upstream';
import { recordLatency } from './latency';
import { backoffMs, isRetryable } from './retry-policy';
import { PRIORITIES, type Priority, type QueueConfig, type RoutingRule } from './schema';
import { orderTargets } from './strategies';
import { providerTarget, type Route, type RouteTarget, type RoutingTable } from './targets';

/** One try of one target, as recorded in the usage event. */
export interface AttemptRecord {
  target: string;
  provider: string;
  model?: string;
  /** The provider's HTTP status, or the gateway's status for a failure without one (timeout, reset, queue). */
  status: number;
  latency_ms: number;
  /** ok, or the error code of the failure (upstream_timeout, upstream_unreachable, queue_timeout…). */
  reason: string;
  /** Host of the provider endpoint called (traces' server.address). */
  server_address?: string;
}

/** What the provider said about a failed attempt, kept next to the error the client may see. */
const upstreamInfo = new WeakMap<GatewayError, { status: number; waitMs: number | undefined }>();

export function withUpstreamInfo(err: GatewayError, status: number, waitMs: number | undefined): GatewayError {
  upstreamInfo.set(err, { status, waitMs });
  return err;
}

/** Targets that asked us to wait (Retry-After, rate-limit resets), until when; shared by all requests. */
const coolingUntil = new Map<string, number>();

export function resetCooldowns(): void {
  coolingUntil.clear();
}

/**
 * The route of a request: its logical model, the implicit top-level route, or a 404 / 403 in the client's format.
 * Reads the model from the request body, which is the only place it is taken from (an Anthropic request is already
 * in the OpenAI shape), so the allow-list cannot be bypassed by headers.
 */
export function resolveRoute(table: RoutingTable, ex: Pick<Exchange, 'body' | 'identity'>): Route {
  if (table.logical.size === 0) return table.implicit;
  const model = typeof ex.body?.model === 'string' ? ex.body.model : '';
  const route = table.logical.get(model);
  if (!route) {
    if (table.allowUnknown) return table.implicit;
    throw new GatewayError(404, `The model \`${model}\` does not exist or you do not have access to it.`, 'model_not_found');
  }
  if (!mayUse(route, ex.identity.consumerGroups)) {
    throw new GatewayError(403, `Your consumer group is not allowed to use the model \`${model}\`.`, 'model_not_allowed');
  }
  return route;
}

export function mayUse(route: Route, groups: readonly string[]): boolean {
  return !route.allowedGroups || groups.some((g) => route.allowedGroups!.has(g));
}

function hasImages(body: Record<string, unknown>): boolean {
  const messages = Array.isArray(body.messages) ? (body.messages as { content?: unknown }[]) : [];
  return messages.some((m) => Array.isArray(m?.content) && (m.content as { type?: unknown }[]).some((p) => p?.type === 'image_url' || p?.type === 'image'));
}

function ruleHolds(rule: RoutingRule, ex: Pick<Exchange, 'body' | 'headers'>, promptTokens: () => number): boolean {
  const body = ex.body ?? {};
  if (rule.header !== undefined) {
    const value = ex.headers[rule.header.toLowerCase()];
    const text = Array.isArray(value) ? value[0] : value;
    if (text === undefined || (rule.equals !== undefined && text !== rule.equals)) return false;
  }
  if (rule.has_tools !== undefined && (Array.isArray(body.tools) && body.tools.length > 0) !== rule.has_tools) return false;
  if (rule.has_images !== undefined && hasImages(body) !== rule.has_images) return false;
  if (rule.prompt_tokens_over !== undefined && promptTokens() <= rule.prompt_tokens_over) return false;
  return true;
}

/** The targets a request may use: those of the first rule that holds, else all of the route's. */
export function candidateTargets(route: Route, ex: Pick<Exchange, 'body' | 'headers'>): RouteTarget[] {
  let tokens: number | undefined;
  const promptTokens = () => (tokens ??= estimatePromptTokens(ex.body ?? {}, String(ex.body?.model ?? '')).tokens);
  for (const { rule, targets } of route.rules) if (ruleHolds(rule, ex, promptTokens)) return targets;
  return route.targets;
}

/** The request's priority class: the highest of its consumer groups' classes, else the priority header, else normal. */
export function priorityOf(ex: Pick<Exchange, 'headers' | 'identity'>, queue: QueueConfig): Priority {
  let best: Priority | undefined;
  for (const group of ex.identity.consumerGroups) {
    const p = queue.group_priorities[group];
    if (p && (best === undefined || PRIORITIES.indexOf(p) < PRIORITIES.indexOf(best))) best = p;
  }
  if (best) return best;
  const header = queue.priority_header ? ex.headers[queue.priority_header.toLowerCase()] : undefined;
  return typeof header === 'string' && (PRIORITIES as readonly string[]).includes(header) ? (header as Priority) : 'normal';
}

/** The first choice for this request among the targets (for benchmarks and tests of the decision alone). */
export function pickTarget(route: Route, ex: Pick<Exchange, 'body' | 'headers' | 'stream'>, random: () => number = Math.random): RouteTarget | undefined {
  const now = Date.now();
  const ordered = orderTargets(route, candidateTargets(route, ex), { stream: ex.stream, random });
  return ordered.find((t) => t.breaker.isAvailable(now) && !(coolingUntil.get(t.key)! > now) && t.queue.hasRoom()) ?? ordered.find((t) => t.breaker.isAvailable(now));
}

/** A target that answered: its result, and how to account for it once the answer to the client is complete. */
export interface OpenedAttempt<T> {
  value: T;
  target: RouteTarget;
  providerTarget: ProviderTarget;
  /** Call once when the answer is over: `failureCode` set when it failed after the target was opened. */
  finish(failureCode?: string): void;
}

/** Failures after the target answered that say nothing about its health. */
const NOT_THE_TARGETS_FAULT = new Set(['upstream_rejected']);

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

export interface RunOptions {
  random?: () => number;
}

/**
 * The attempt loop: orders the candidate targets by the route's strategy, skips open breakers and targets that asked
 * to wait, queues for a slot, and calls `open` on the target until one succeeds, the failure is not retryable, or
 * the attempt and time budgets are spent. `open` must not write anything to the client: after it succeeds, no retry.
 */
export async function runAttempts<T>(
  ex: Exchange,
  route: Route,
  config: LlmProxyConfig,
  open: (target: RouteTarget, provider: ProviderTarget, signal: AbortSignal) => Promise<T>,
  options: RunOptions = {},
): Promise<OpenedAttempt<T>> {
  const random = options.random ?? Math.random;
  const ordered = orderTargets(route, candidateTargets(route, ex), { stream: ex.stream, random });
  const retries = config.retries;
  const maxAttempts = retries.max_attempts ?? ordered.length;
  const started = Date.now();
  const priority = priorityOf(ex, config.queue);
  const attempts: AttemptRecord[] = [];
  const annotation = (ex.annotations.llm_proxy ??= {}) as Record<string, unknown>;
  annotation.attempts = attempts;
  if (route.logicalName) {
    annotation.logical_model = route.logicalName;
    if (config.response_headers) ex.responseHeaders['x-llm-logical-model'] = route.logicalName;
  }
  const setAttemptsHeader = () => void (config.response_headers && (ex.responseHeaders['x-llm-attempts'] = String(attempts.length)));
  const tried = new Map<RouteTarget, number>();
  let lastError: GatewayError | undefined;

  while (attempts.length < maxAttempts) {
    const now = Date.now();
    const choice = chooseTarget(ordered, tried, now);
    if (!choice) {
      lastError ??= new GatewayError(
        503,
        `no target of ${route.logicalName ? `model ${route.logicalName}` : 'this route'} is available (circuit open); retry later`,
        'targets_unavailable',
        { 'retry-after': '1' },
      );
      break;
    }
    const { target } = choice;
    const retry = tried.get(target) ?? 0;
    let wait = Math.max(choice.coolingMs, retry > 0 ? backoffMs(retry, retries, random) : 0);
    if (now + wait - started > retries.budget_ms) {
      if (attempts.length > 0) break;
      wait = 0; // a first attempt is always made: the provider then answers for itself
    }
    await sleep(wait, ex.signal);
    if (ex.signal.aborted) throw new GatewayError(499, 'client closed the request', 'client_closed');
    if (!target.breaker.tryPass()) {
      tried.set(target, retry + 1); // another request took the half-open probe meanwhile: try the others
      continue;
    }
    const attemptStart = Date.now();
    const record: AttemptRecord = { target: target.name, provider: target.config.provider, model: target.config.model, status: 0, latency_ms: 0, reason: 'ok' };
    attempts.push(record);
    setAttemptsHeader();
    tried.set(target, retry + 1);
    let release: () => void;
    try {
      release = await target.queue.acquire(priority, config.queue.queue_timeout_ms, ex.signal);
    } catch (err) {
      target.breaker.release();
      const failure = err as GatewayError;
      Object.assign(record, { status: failure.status, latency_ms: Date.now() - attemptStart, reason: failure.code });
      if (failure.code === 'client_closed') throw failure;
      lastError = failure;
      continue;
    }
    let provider: ProviderTarget | undefined;
    const total = totalTimeout(target);
    const signal = total ? AbortSignal.any([ex.signal, total.signal]) : ex.signal;
    try {
      provider = providerTarget(target, config);
      record.server_address = hostOf(provider.baseUrl);
      const value = await open(target, provider, signal);
      record.status = 200;
      const opened = provider;
      ex.provider = opened.provider;
      if (config.response_headers) ex.responseHeaders['x-llm-provider'] = opened.provider;
      annotation.target = target.name;
      let finished = false;
      return {
        value,
        target,
        providerTarget: opened,
        finish(failureCode) {
          if (finished) return;
          finished = true;
          total?.clear();
          release();
          const end = Date.now();
          record.latency_ms = end - attemptStart;
          if (failureCode === 'client_closed') {
            target.breaker.release(); // says nothing about the target
            return;
          }
          if (failureCode && !NOT_THE_TARGETS_FAULT.has(failureCode)) {
            record.reason = failureCode;
            target.breaker.onFailure(end);
            return;
          }
          target.breaker.onSuccess(end);
          const measured = ex.stream && ex.firstByteAt !== undefined ? ex.firstByteAt - attemptStart : end - attemptStart;
          recordLatency(target.key, ex.stream, measured, route.latencyAlpha);
        },
      };
    } catch (err) {
      release();
      total?.clear();
      const failure = total?.signal.aborted && !ex.signal.aborted ? (total.signal.reason as GatewayError) : provider ? upstreamFailure(err, provider) : (err as GatewayError);
      const info = upstreamInfo.get(failure);
      Object.assign(record, { status: info?.status ?? failure.status, latency_ms: Date.now() - attemptStart, reason: failure.code });
      if (failure.code === 'client_closed' || !(failure instanceof GatewayError) || !isRetryable(info?.status, failure.code)) {
        target.breaker.release();
        throw failure;
      }
      target.breaker.onFailure();
      if (info?.waitMs !== undefined) coolingUntil.set(target.key, Date.now() + info.waitMs);
      lastError = failure;
    }
  }
  setAttemptsHeader();
  throw lastError ?? new GatewayError(503, 'no attempt could be made within the retry budget', 'targets_unavailable');
}

/** The target's total_ms as a signal aborted with the 504 the client gets (mid-stream: the error event's). */
function totalTimeout(target: RouteTarget): { signal: AbortSignal; clear(): void } | undefined {
  if (!target.totalMs) return undefined;
  const controller = new AbortController();
  const error = new GatewayError(504, `provider ${target.config.provider} did not finish within ${target.totalMs} ms`, 'upstream_timeout');
  const timer = setTimeout(() => controller.abort(error), target.totalMs);
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/**
 * The next target: the first in order not tried yet in this request and available (breaker closed or probing, not
 * asked to wait, preferably with a free slot); else the one tried least (a retry) that is available, with how long it
 * still asked us to wait.
 */
function chooseTarget(ordered: RouteTarget[], tried: Map<RouteTarget, number>, now: number): { target: RouteTarget; coolingMs: number } | undefined {
  const cooling = (t: RouteTarget) => Math.max(0, (coolingUntil.get(t.key) ?? 0) - now);
  const available = ordered.filter((t) => t.breaker.isAvailable(now));
  const fresh = available.filter((t) => !tried.has(t) && cooling(t) === 0);
  const pick = fresh.find((t) => t.queue.hasRoom()) ?? fresh[0];
  if (pick) return { target: pick, coolingMs: 0 };
  let best: RouteTarget | undefined;
  for (const t of available) {
    if (!best || (tried.get(t) ?? 0) < (tried.get(best) ?? 0) || ((tried.get(t) ?? 0) === (tried.get(best) ?? 0) && cooling(t) < cooling(best))) best = t;
  }
  return best && { target: best, coolingMs: cooling(best) };
}

const hosts = new Map<string, string | undefined>();
function hostOf(url: string): string | undefined {
  if (hosts.has(url)) return hosts.get(url);
  let host: string | undefined;
  try {
    host = new URL(url).hostname;
  } catch {
    host = undefined; // a template such as Bedrock's https://bedrock-runtime.{region}.amazonaws.com
  }
  if (hosts.size < 1_000) hosts.set(url, host);
  return host;
}
