import type { ServerResponse } from 'node:http';
import { statusForClient } from '../providers/anthropic/errors';
import { sseDecoder } from '../providers/sse-decoder';
import type { NativeCall, ProviderAdapter, ProviderTarget, StreamEventResult, StreamFilter, UpstreamRequest } from '../providers/types';
import { GatewayError } from '../runtime/relay/errors';
import type { ChatChunk, ChatCompletion, Exchange, RelayStage, Usage } from '../runtime/relay/stage';
import { countTextTokens, estimatePromptTokens } from '../runtime/tokenizer';
import { beforeAnswer, chainChunkHooks, transformCompletion } from './answer-hooks';
import { anthropicRawStream, chunkClientStream, clientApi, completionForClient, type ClientStream } from './client-stream';
import { normalizeInbound } from './inbound';
import { RawStreamText } from './streamed-text';
import { retryAfterMs } from './routing/retry-policy';
import { answerLogicalModels } from './routing/models-list';
import { pickTarget, resolveRoute, runAttempts, withUpstreamInfo } from './routing/router';
import { compileRoutingTable, type Route } from './routing/targets';
import type { LlmProxyConfig } from './schema';
import { callUpstream, upstreamErrorAnswer, upstreamFailure, type UpstreamResponse } from './upstream';

/** llm-proxy in the relay: sends the (possibly transformed) request to the provider and streams the answer back. */
export function llmProxyStage(config: LlmProxyConfig): RelayStage {
  const table = compileRoutingTable(config);
  return {
    plugin: 'llm-proxy',
    normalizeRequest(ex) {
      normalizeInbound(ex);
      // before any stage reserves tokens or budget for it: a model the caller may not use is refused at once
      if (ex.body && (ex.api === 'openai-chat' || ex.api === 'openai-embeddings')) {
        const route = resolveRoute(table, ex);
        const first = route.targets.length === 1 ? route.targets[0] : (pickTarget(route, ex) ?? route.targets[0]);
        ex.planned = { provider: first.adapter.id, model: String(first.config.model ?? ex.body.model ?? ''), logicalModel: route.logicalName };
      }
    },
    async respond(ex, res) {
      const body = ex.body ?? {};
      const annotation: Record<string, unknown> = (ex.annotations.llm_proxy = ex.inbound ? { client_api: ex.inbound.api } : {});
      switch (ex.api) {
        case 'openai-chat': {
          requirePost(ex);
          return relayRouted(ex, res, config, resolveRoute(table, ex), (adapter, target) => {
            ex.model = String(target.model ?? body.model ?? '');
            // the client's own request goes as it is to a provider of its API; any other provider gets a translation
            const native = ex.inbound && adapter.nativeRequest?.(ex.inbound, body, target, ex.headers, ex.forwarded.query);
            if (native) annotation.pass_through = true;
            else delete annotation.pass_through;
            return native ? { request: native.request, filter: native.filter, native } : adapter.chatRequest(body, target);
          });
        }
        case 'anthropic-messages': // still in the client's format only when it had no body to translate
        case 'openai-responses':
          requirePost(ex);
          throw new GatewayError(400, 'request body is required', 'missing_body');
        case 'anthropic-count-tokens': {
          requirePost(ex);
          const model = String((table.logical.get(String(body.model)) ?? table.implicit).targets[0].config.model ?? body.model ?? '');
          const answer = JSON.stringify({ input_tokens: estimatePromptTokens(body, model).tokens });
          ex.status = 200;
          beforeAnswer(ex);
          res.writeHead(200, { 'content-type': 'application/json', ...ex.responseHeaders, 'content-length': Buffer.byteLength(answer) });
          return void res.end(answer);
        }
        case 'openai-embeddings':
          requirePost(ex);
          return relayRouted(ex, res, config, resolveRoute(table, ex), (adapter, target) => {
            ex.model = String(target.model ?? body.model ?? '');
            return { request: adapter.embeddingsRequest(body, target) };
          });
        case 'openai-models':
          if (table.logical.size > 0) return answerLogicalModels(ex, res, table);
          return relayRouted(ex, res, config, table.implicit, (adapter, target) => ({ request: adapter.modelsRequest(target) }));
        default:
          throw new GatewayError(404, `no LLM API at path ${ex.forwarded.path}`, 'unknown_api');
      }
    },
  };
}

function requirePost(ex: Exchange): void {
  if (ex.method !== 'POST') throw new GatewayError(405, `${ex.method} is not allowed here; use POST`, 'method_not_allowed');
  if (!ex.body) throw new GatewayError(400, 'request body is required', 'missing_body');
}

/** One attempt's call: the request built for the chosen target, how to read its stream, its pass-through. */
interface UpstreamCall {
  request: UpstreamRequest;
  filter?: StreamFilter;
  native?: NativeCall;
}

/** A target that answered well, before anything is written to the client. */
interface OpenedCall {
  adapter: ProviderAdapter;
  target: ProviderTarget;
  call: UpstreamCall;
  upstream: UpstreamResponse;
  /** Stops the provider's stream (a stage ended the answer). */
  abort: AbortController;
  /** A JSON answer is read within the attempt, so that a cut or malformed body can still fail over. */
  raw?: Buffer;
  json?: unknown;
}

/**
 * The attempt loop around one client request: each attempt builds the request for its target (a translation when
 * the target's provider does not speak the client's API) and opens it; only the attempt that succeeds is written.
 */
async function relayRouted(
  ex: Exchange,
  res: ServerResponse,
  config: LlmProxyConfig,
  route: Route,
  build: (adapter: ProviderAdapter, target: ProviderTarget) => UpstreamCall,
): Promise<void> {
  const opened = await runAttempts(ex, route, config, (t, target, signal) => openCall(ex, t.adapter, target, build(t.adapter, target), signal));
  try {
    const call = opened.value;
    await (call.call.filter ? relayStream(ex, res, call, config) : relayJson(ex, res, call, config));
    opened.finish(ex.error?.code);
  } catch (err) {
    opened.finish(err instanceof GatewayError ? err.code : 'internal_error');
    throw err;
  }
}

async function openCall(ex: Exchange, adapter: ProviderAdapter, target: ProviderTarget, call: UpstreamCall, signal: AbortSignal): Promise<OpenedCall> {
  // a child controller rather than AbortSignal.any, which costs more than the rest of the call set-up together
  const abort = new AbortController();
  if (signal.aborted) abort.abort(signal.reason);
  else signal.addEventListener('abort', () => abort.abort(signal.reason), { once: true });
  const upstream = await openUpstream({ signal: abort.signal, errorFormat: ex.errorFormat }, adapter, target, call.request);
  if (call.filter) return { adapter, target, call, upstream, abort };
  let raw: Buffer;
  try {
    raw = Buffer.from(await upstream.body.arrayBuffer());
  } catch (err) {
    throw upstreamFailure(err, target);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new GatewayError(502, `provider ${target.provider} sent a malformed JSON answer`, 'upstream_malformed');
  }
  return { adapter, target, call, upstream, abort, raw, json };
}

async function openUpstream(ex: Pick<Exchange, 'signal' | 'errorFormat'>, adapter: ProviderAdapter, target: ProviderTarget, request: UpstreamRequest): Promise<UpstreamResponse> {
  const upstream = await callUpstream(request, target, ex.signal);
  if (upstream.statusCode >= 400) {
    const wait = retryAfterMs(upstream.headers);
    const err = await upstreamErrorAnswer(upstream, adapter, target);
    const status = statusForClient(err.status, ex.errorFormat);
    throw withUpstreamInfo(status === err.status ? err : new GatewayError(status, err.message, err.code, err.headers), upstream.statusCode, wait);
  }
  return upstream;
}

function usageHeaders(usage: Usage | undefined): Record<string, string> {
  if (!usage) return {};
  return {
    'x-llm-prompt-tokens': String(usage.promptTokens),
    'x-llm-completion-tokens': String(usage.completionTokens),
    'x-llm-total-tokens': String(usage.totalTokens),
  };
}


async function relayJson(ex: Exchange, res: ServerResponse, opened: OpenedCall, config: LlmProxyConfig): Promise<void> {
  const { adapter, target, upstream, json } = opened;
  const native = opened.call.native;
  let raw = opened.raw!;
  ex.firstByteAt ??= Date.now();
  ex.usage = adapter.usageFromBody(json);
  const model = (json as { model?: unknown } | null)?.model;
  if (typeof model === 'string') ex.model = model;
  let answer: unknown; // set when the client gets something else than the provider's own bytes
  if (native) {
    const completion = native.toCompletion(json);
    if (completion && transformCompletion(ex, completion)) answer = native.applyCompletion(json, completion);
  } else if (ex.api === 'openai-chat') {
    const translates = adapter.completionFromBody !== undefined || clientApi(ex) !== 'openai';
    const completion = adapter.completionFromBody ? adapter.completionFromBody(json, ex.model ?? '') : isCompletion(json) ? json : undefined;
    // an OpenAI client gets whatever an OpenAI-compatible server answered; a translation needs a completion
    if (!completion && translates) throw new GatewayError(502, `provider ${target.provider} sent an answer that is not a chat completion`, 'upstream_malformed');
    if (completion) {
      const touched = transformCompletion(ex, completion);
      if (clientApi(ex) !== 'openai') answer = completionForClient(ex, completion, ex.usage);
      else if (translates || touched) answer = completion;
    }
  } else if (ex.api === 'openai-embeddings' && adapter.embeddingsFromBody) {
    // a provider with its own embeddings shape (Cohere): the client gets OpenAI's list
    answer = adapter.embeddingsFromBody(json, ex.body ?? {}, ex.model ?? '');
    if (answer === undefined) throw new GatewayError(502, `provider ${target.provider} sent an answer that is not an embeddings list`, 'upstream_malformed');
  } else if (ex.api === 'openai-models' && adapter.modelsFromBody) {
    answer = adapter.modelsFromBody(json);
    if (answer === undefined) throw new GatewayError(502, `provider ${target.provider} sent an answer that is not a model list`, 'upstream_malformed');
  }
  if (answer !== undefined) raw = Buffer.from(JSON.stringify(answer));
  const contentType = answer === undefined ? String(upstream.headers['content-type'] ?? 'application/json') : 'application/json';
  if (config.response_headers) {
    if (ex.model) ex.responseHeaders['x-llm-model'] = ex.model;
    Object.assign(ex.responseHeaders, usageHeaders(ex.usage));
  }
  ex.status = upstream.statusCode;
  beforeAnswer(ex);
  res.writeHead(upstream.statusCode, {
    'content-type': contentType,
    ...ex.responseHeaders,
    'content-length': raw.length,
  });
  res.end(raw);
}

/**
 * Streams the provider's answer to the client. Frames already in the client's format go through untouched when no
 * stage looks at chunks (OpenAI → OpenAI, Anthropic pass-through); otherwise they become OpenAI chunks, pass the
 * stages' chunk hooks and are written in the client's format.
 */
async function relayStream(ex: Exchange, res: ServerResponse, opened: OpenedCall, config: LlmProxyConfig): Promise<void> {
  const { adapter, target, upstream } = opened;
  const { native } = opened.call;
  const providerFilter = opened.call.filter!;
  const upstreamAbort = opened.abort;
  if (config.response_headers && ex.model) ex.responseHeaders['x-llm-model'] = ex.model;
  ex.status = upstream.statusCode;
  beforeAnswer(ex);
  res.writeHead(upstream.statusCode, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    // nginx (Kong) buffers proxied responses by default; this header makes it pass each event on at once.
    'x-accel-buffering': 'no',
    ...ex.responseHeaders,
  });
  const hooks = chainChunkHooks(ex);
  // the frames decoded from one read of the provider's stream leave in one write (one syscall, one TCP segment)
  const pending: string[] = [];
  const write = (frame: string) => void pending.push(frame);
  const flush = () => {
    if (pending.length === 0 || res.destroyed) return;
    ex.firstByteAt ??= Date.now();
    res.write(pending.length === 1 ? pending[0] : pending.join(''));
    pending.length = 0;
  };
  // Raw frames are in the provider's format: the OpenAI one, or Anthropic's own when passing through.
  const rawFormat = native ? 'anthropic' : 'openai';
  const clientFormat = clientApi(ex);
  const passRaw = !hooks && rawFormat === clientFormat;
  const filter = native && !passRaw && native.translatingFilter ? native.translatingFilter() : providerFilter;
  const client: ClientStream =
    passRaw && clientFormat === 'anthropic'
      ? anthropicRawStream(write)
      : chunkClientStream(ex, write, () => estimatePromptTokens(ex.body ?? {}, ex.model ?? '').tokens);
  let streamedText = '';
  const rawText = new RawStreamText(); // raw frames, read only if the stream breaks off without usage
  let finished = false;
  let stopped = false;

  const finish = () => {
    if (finished) return;
    finished = true;
    if (hooks) for (const c of hooks.flush()) client.chunk(c);
    ex.usage ??= estimatedUsage(ex, streamedText);
    client.done();
  };
  const deliver = (chunks: ChatChunk[]) => {
    for (const chunk of chunks) {
      if (stopped) return;
      const r = hooks ? hooks.onChunk(chunk) : { chunks: [chunk] };
      for (const c of r.chunks) {
        streamedText += textOf(c);
        client.chunk(c);
      }
      if (r.stop) {
        // a stage ended the answer (e.g. a budget cap): close the stream properly and stop the provider
        stopped = true;
        finish();
        upstreamAbort.abort();
      }
    }
  };
  const onResult = (out: StreamEventResult, data: string) => {
    if (out.usage) ex.usage = out.usage;
    if (out.model) ex.model = out.model;
    if (out.error) {
      ex.error = { code: 'upstream_stream_error', message: out.error.message };
      if (out.forward && passRaw) {
        client.raw(out.forward);
        client.errorForwarded();
      } else client.error(new GatewayError(statusForClient(out.error.status, ex.errorFormat), out.error.message, 'upstream_stream_error'));
      finished = true;
      return;
    }
    if (passRaw && !out.chunks) {
      rawText.add(data);
      if (out.forward) client.raw(out.forward);
      if (out.done || data === '[DONE]') finished = true;
      return;
    }
    if (out.chunks) deliver(out.chunks);
    else if (out.forward && data !== '[DONE]') {
      const chunk = parseChunk(out.forward);
      if (chunk) deliver([chunk]);
    }
    if (out.done || data === '[DONE]') finish();
  };
  const onEvent = (data: string, event: string | undefined) => {
    if (stopped || finished) return;
    onResult(filter.onEvent(data, event), data);
  };
  const decoder = adapter.streamDecoder?.() ?? sseDecoder();
  try {
    for await (const chunk of upstream.body) {
      if (stopped || finished) break;
      decoder.feed(chunk as Buffer, onEvent);
      flush();
    }
    if (!stopped && !finished) decoder.end(onEvent);
    // a translated stream always ends well-formed, even when the provider ended it without its end marker
    if (!passRaw && !finished && !stopped) finish();
  } catch (err) {
    if (!stopped && !finished) {
      const failure = upstreamFailure(err, target);
      ex.error = { code: failure.code, message: failure.message };
      if (failure.code !== 'client_closed' && !res.destroyed) {
        // A well-formed last event the SDKs surface as an error, then a clean end of the stream.
        client.error(new GatewayError(statusForClient(failure.status, ex.errorFormat), `stream interrupted: ${failure.message}`, failure.code));
      }
    } // else: our own abort after a stage stopped the answer
  }
  // a stream that broke off (client gone, provider cut or erred) was still used and paid for up to there: counted
  // by us when the provider reported nothing
  ex.usage ??= estimatedUsage(ex, streamedText + rawText.text());
  flush();
  res.end();
}

/** Usage counted by us when the provider reported none: marked estimated, never silently zero. */
function estimatedUsage(ex: Exchange, text: string): Usage {
  const model = ex.model ?? '';
  const prompt = estimatePromptTokens(ex.body ?? {}, model).tokens;
  const completion = countTextTokens(text, model);
  return { promptTokens: prompt, completionTokens: completion, totalTokens: prompt + completion, estimated: true };
}

function textOf(chunk: ChatChunk): string {
  let text = '';
  for (const choice of chunk.choices ?? []) {
    if (typeof choice.delta?.content === 'string') text += choice.delta.content;
    for (const call of (choice.delta?.tool_calls as { function?: { arguments?: unknown } }[] | undefined) ?? []) {
      if (typeof call?.function?.arguments === 'string') text += call.function.arguments;
    }
  }
  return text;
}

function isCompletion(json: unknown): json is ChatCompletion {
  return typeof json === 'object' && json !== null && Array.isArray((json as { choices?: unknown }).choices);
}

function parseChunk(frame: string): ChatChunk | undefined {
  const data = frame.slice(frame.indexOf('data: ') + 6).trimEnd();
  try {
    const chunk = JSON.parse(data);
    return Array.isArray(chunk?.choices) ? chunk : undefined;
  } catch {
    return undefined;
  }
}
