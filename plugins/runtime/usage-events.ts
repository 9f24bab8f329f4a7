import { createWriteStream, type WriteStream } from 'node:fs';
import type { Exchange } from './relay/stage';
import type { UsageEvent } from './usage-sinks/event-schema';

/** The record of one request the suite handled (observability outlet 2). Never contains prompt or answer text. */
export type { UsageEvent };

type Listener = (e: UsageEvent) => void;
const listeners = new Set<Listener>();

export function onUsageEvent(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function usageEventFor(ex: Exchange): UsageEvent {
  const { identity } = ex;
  const u = ex.usage;
  return {
    request_id: ex.ctx.id,
    kong_request_id: ex.forwarded.kongRequestId,
    client_ip: ex.forwarded.clientIp,
    time: new Date(ex.startedAt).toISOString(),
    consumer: identity.consumer,
    consumer_groups: identity.consumerGroups,
    route: identity.route,
    service: identity.service,
    api: ex.inbound?.api ?? ex.api, // the API the client called (Anthropic requests are handled in the common shape)
    provider: ex.provider,
    model: ex.model,
    stream: ex.stream,
    status: ex.status ?? 0,
    usage: u && {
      prompt_tokens: u.promptTokens,
      completion_tokens: u.completionTokens,
      total_tokens: u.totalTokens,
      cached_tokens: u.cachedTokens,
      reasoning_tokens: u.reasoningTokens,
      estimated: u.estimated,
    },
    latency_ms: Date.now() - ex.startedAt,
    ttft_ms: ex.firstByteAt !== undefined ? ex.firstByteAt - ex.startedAt : undefined,
    error_code: ex.error?.code,
    answered_by: ex.answeredBy,
    ...ex.annotations,
  };
}

export function emitUsageEvent(event: UsageEvent): void {
  for (const fn of listeners) fn(event);
}

/** `LLM_USAGE_LOG=stderr` or a file path: JSON lines of every usage event (the full sink set comes with observability). */
export function installUsageLogFromEnv(target = process.env.LLM_USAGE_LOG): WriteStream | undefined {
  if (!target) return undefined;
  if (target === 'stderr') {
    onUsageEvent((e) => process.stderr.write(`${JSON.stringify({ usage_event: e })}\n`));
    return undefined;
  }
  const stream = createWriteStream(target, { flags: 'a' });
  onUsageEvent((e) => stream.write(`${JSON.stringify(e)}\n`));
  return stream;
}
