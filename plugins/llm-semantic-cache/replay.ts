import { randomId } from '../runtime/random-id';
import { chainChunkHooks, transformCompletion } from '../llm-proxy/answer-hooks';
import { chunkClientStream, clientApi, completionForClient, type ClientStream } from '../llm-proxy/client-stream';
import type { ChatChunk, ChatCompletion, EarlyAnswer, Exchange, Usage } from '../runtime/relay/stage';

/** What a cache hit cost the provider: nothing. */
export const ZERO_USAGE: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0, estimated: false };
const ZERO_OPENAI_USAGE = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

type Json = Record<string, unknown>;

/** The cached answer as a fresh completion: new id and time, zero usage (the provider was not called). */
function freshCompletion(cached: ChatCompletion): ChatCompletion {
  const completion = structuredClone(cached);
  completion.id = `chatcmpl-cache${randomId(9).replace(/[^A-Za-z0-9]/g, '')}`;
  completion.created = Math.floor(Date.now() / 1000);
  completion.object = 'chat.completion';
  completion.usage = ZERO_OPENAI_USAGE;
  return completion;
}

/**
 * The stages that run before the cache (higher priority, e.g. llm-pii-guard) see a hit as they would see the
 * provider's answer: their answer hooks run on it (placeholders restored, output scanned). Later stages never saw
 * the request and get nothing.
 */
function outerExchange(ex: Exchange, plugin: string): Exchange {
  const mine = ex.stages.findIndex((s) => s.plugin === plugin);
  return { ...ex, stages: mine < 0 ? [] : ex.stages.slice(0, mine) };
}

/** A cached answer turned back into streamed chunks: role, content, tool calls, one finish chunk. */
export function chunksOf(completion: ChatCompletion): ChatChunk[] {
  const choice = completion.choices[0];
  const message = (choice?.message ?? {}) as Json;
  const base = { id: completion.id, object: 'chat.completion.chunk', created: completion.created, model: completion.model, system_fingerprint: completion.system_fingerprint };
  const chunk = (delta: Json, finish: string | null = null): ChatChunk => ({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] });
  const chunks = [chunk({ role: 'assistant', content: '' })];
  if (typeof message.content === 'string' && message.content !== '') chunks.push(chunk({ content: message.content }));
  if (typeof message.refusal === 'string' && message.refusal !== '') chunks.push(chunk({ refusal: message.refusal }));
  const calls = Array.isArray(message.tool_calls) ? (message.tool_calls as Json[]) : [];
  calls.forEach((call, index) => chunks.push(chunk({ tool_calls: [{ index, id: call.id, type: call.type ?? 'function', function: call.function }] })));
  chunks.push(chunk({}, choice?.finish_reason ?? 'stop'));
  return chunks;
}

/** The hit as the client asked for it: JSON or SSE, in the client's API (OpenAI chat, Responses or Anthropic). */
export function replayAnswer(ex: Exchange, cached: ChatCompletion, plugin: string, headers: Record<string, string>): EarlyAnswer {
  const outer = outerExchange(ex, plugin);
  const completion = freshCompletion(cached);
  if (!ex.stream) {
    transformCompletion(outer, completion);
    return { status: 200, body: JSON.stringify(completionForClient(ex, completion, ZERO_USAGE)), headers };
  }
  let sse = '';
  const write = (frame: string) => void (sse += frame);
  const client: ClientStream = chunkClientStream(ex, write, () => 0);
  const hooks = chainChunkHooks(outer);
  let stopped = false;
  for (const chunk of chunksOf(completion)) {
    const r = hooks ? hooks.onChunk(chunk) : { chunks: [chunk] };
    r.chunks.forEach(client.chunk);
    if (r.stop) {
      stopped = true;
      break;
    }
  }
  if (hooks && !stopped) hooks.flush().forEach(client.chunk);
  const includeUsage = (ex.body?.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  if (clientApi(ex) === 'openai' && includeUsage) client.chunk({ id: completion.id, object: 'chat.completion.chunk', created: completion.created, model: completion.model, choices: [], usage: ZERO_OPENAI_USAGE });
  client.done();
  return {
    status: 200,
    body: sse,
    headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
  };
}
