import type { ServerResponse } from 'node:http';
import { completionToAnthropicMessage } from '../providers/anthropic/message';
import { statusForClient } from '../providers/anthropic/errors';
import { PROVIDERS } from '../providers/registry';
import { sseDecoder } from '../providers/sse-decoder';
import type { NativeCall, ProviderAdapter, ProviderTarget, StreamEventResult, StreamFilter, UpstreamRequest } from '../providers/types';
import { GatewayError } from '../runtime/relay/errors';
import type { ChatChunk, ChatCompletion, Exchange, RelayStage, Usage } from '../runtime/relay/stage';
import { countTextTokens, estimatePromptTokens } from '../runtime/tokenizer';
import { beforeAnswer, chainChunkHooks, transformCompletion } from './answer-hooks';
import { anthropicRawStream, anthropicTranslatedStream, openAiClientStream, type ClientStream } from './client-stream';
import { normalizeInbound } from './inbound';
import type { LlmProxyConfig } from './schema';
import { callUpstream, upstreamErrorAnswer, upstreamFailure, type UpstreamResponse } from './upstream';

export function resolveTarget(config: LlmProxyConfig, env: NodeJS.ProcessEnv = process.env): ProviderTarget {
  const adapter = PROVIDERS[config.provider];
  const baseUrl = config.base_url ?? adapter.defaultBaseUrl;
  if (!baseUrl) throw new GatewayError(500, 'llm-proxy has no base_url for this provider', 'gateway_misconfigured');
  const apiKey = config.auth.api_key ?? (config.auth.api_key_env ? env[config.auth.api_key_env] : undefined);
  if (!apiKey && adapter.needsApiKey !== false) {
    throw new GatewayError(500, 'llm-proxy has no provider API key configured (auth.api_key or auth.api_key_env)', 'provider_key_missing');
  }
  return {
    provider: config.provider,
    baseUrl,
    apiKey,
    model: config.model,
    apiVersion: config.anthropic_version,
    options: config.options,
    timeouts: { connectMs: config.timeouts.connect_ms, firstByteMs: config.timeouts.first_byte_ms, idleMs: config.timeouts.idle_ms },
  };
}

/** llm-proxy in the relay: sends the (possibly transformed) request to the provider and streams the answer back. */
export function llmProxyStage(config: LlmProxyConfig): RelayStage {
  const adapter = PROVIDERS[config.provider];
  return {
    plugin: 'llm-proxy',
    normalizeRequest: normalizeInbound,
    async respond(ex, res) {
      const target = resolveTarget(config);
      ex.provider = target.provider;
      if (config.response_headers) ex.responseHeaders['x-llm-provider'] = target.provider;
      const body = ex.body ?? {};
      if (ex.inbound) ex.annotations.llm_proxy = { client_api: ex.inbound.api };
      switch (ex.api) {
        case 'openai-chat': {
          requirePost(ex);
          ex.model = String(target.model ?? body.model ?? '');
          const native = ex.inbound && adapter.nativeRequest?.(ex.inbound, body, target, ex.headers, ex.forwarded.query);
          if (native) {
            ex.annotations.llm_proxy = { client_api: ex.inbound!.api, pass_through: true };
            return native.filter ? relayStream(ex, res, adapter, target, native.request, native.filter, config, native) : relayJson(ex, res, adapter, target, native.request, config, native);
          }
          const { request, filter } = adapter.chatRequest(body, target);
          return filter ? relayStream(ex, res, adapter, target, request, filter, config) : relayJson(ex, res, adapter, target, request, config);
        }
        case 'anthropic-messages': // still in the client's format only when it had no body to translate
          requirePost(ex);
          throw new GatewayError(400, 'request body is required', 'missing_body');
        case 'anthropic-count-tokens': {
          requirePost(ex);
          const model = String(target.model ?? body.model ?? '');
          const answer = JSON.stringify({ input_tokens: estimatePromptTokens(body, model).tokens });
          ex.status = 200;
          beforeAnswer(ex);
          res.writeHead(200, { 'content-type': 'application/json', ...ex.responseHeaders, 'content-length': Buffer.byteLength(answer) });
          return void res.end(answer);
        }
        case 'openai-embeddings':
          requirePost(ex);
          ex.model = String(target.model ?? body.model ?? '');
          return relayJson(ex, res, adapter, target, adapter.embeddingsRequest(body, target), config);
        case 'openai-models':
          return relayJson(ex, res, adapter, target, adapter.modelsRequest(target), config);
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

async function openUpstream(ex: Pick<Exchange, 'signal' | 'errorFormat'>, adapter: ProviderAdapter, target: ProviderTarget, request: UpstreamRequest): Promise<UpstreamResponse> {
  const upstream = await callUpstream(request, target, ex.signal);
  if (upstream.statusCode >= 400) {
    const err = await upstreamErrorAnswer(upstream, adapter, target);
    const status = statusForClient(err.status, ex.errorFormat);
    throw status === err.status ? err : new GatewayError(status, err.message, err.code, err.headers);
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

/** The client speaks Anthropic's API (its answer must be in that format), whatever the provider. */
const anthropicClient = (ex: Exchange) => ex.inbound?.api === 'anthropic-messages';

async function relayJson(
  ex: Exchange,
  res: ServerResponse,
  adapter: ProviderAdapter,
  target: ProviderTarget,
  request: UpstreamRequest,
  config: LlmProxyConfig,
  native?: NativeCall,
): Promise<void> {
  const upstream = await openUpstream(ex, adapter, target, request);
  let raw: Buffer;
  try {
    raw = Buffer.from(await upstream.body.arrayBuffer());
  } catch (err) {
    throw upstreamFailure(err, target);
  }
  ex.firstByteAt ??= Date.now();
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new GatewayError(502, `provider ${target.provider} sent a malformed JSON answer`, 'upstream_malformed');
  }
  ex.usage = adapter.usageFromBody(json);
  const model = (json as { model?: unknown } | null)?.model;
  if (typeof model === 'string') ex.model = model;
  let answer: unknown; // set when the client gets something else than the provider's own bytes
  if (native) {
    const completion = native.toCompletion(json);
    if (completion && transformCompletion(ex, completion)) answer = native.applyCompletion(json, completion);
  } else if (ex.api === 'openai-chat') {
    const translates = adapter.completionFromBody !== undefined || anthropicClient(ex);
    const completion = adapter.completionFromBody ? adapter.completionFromBody(json) : isCompletion(json) ? json : undefined;
    // an OpenAI client gets whatever an OpenAI-compatible server answered; a translation needs a completion
    if (!completion && translates) throw new GatewayError(502, `provider ${target.provider} sent an answer that is not a chat completion`, 'upstream_malformed');
    if (completion) {
      const touched = transformCompletion(ex, completion);
      if (anthropicClient(ex)) answer = completionToAnthropicMessage(completion, ex.usage, ex.model ?? '');
      else if (translates || touched) answer = completion;
    }
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
async function relayStream(
  ex: Exchange,
  res: ServerResponse,
  adapter: ProviderAdapter,
  target: ProviderTarget,
  request: UpstreamRequest,
  providerFilter: StreamFilter,
  config: LlmProxyConfig,
  native?: NativeCall,
): Promise<void> {
  const upstreamAbort = new AbortController();
  const signal = AbortSignal.any([ex.signal, upstreamAbort.signal]);
  const upstream = await openUpstream({ signal, errorFormat: ex.errorFormat }, adapter, target, request);
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
  const write = (frame: string) => {
    ex.firstByteAt ??= Date.now();
    res.write(frame);
  };
  // Raw frames are in the provider's format: the OpenAI one, or Anthropic's own when passing through.
  const rawFormat = native ? 'anthropic' : 'openai';
  const clientFormat = anthropicClient(ex) ? 'anthropic' : 'openai';
  const passRaw = !hooks && rawFormat === clientFormat;
  const filter = native && !passRaw && native.translatingFilter ? native.translatingFilter() : providerFilter;
  const client: ClientStream =
    clientFormat === 'openai'
      ? openAiClientStream(ex, write)
      : passRaw
        ? anthropicRawStream(write)
        : anthropicTranslatedStream(ex, write, estimatePromptTokens(ex.body ?? {}, ex.model ?? '').tokens);
  let streamedText = '';
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
    }
    if (!stopped && !finished) decoder.end(onEvent);
    // a translated stream always ends well-formed, even when the provider ended it without its end marker
    if (!passRaw && !finished && !stopped) finish();
  } catch (err) {
    if (stopped || finished) return void res.end(); // our own abort after a stage stopped the answer
    const failure = upstreamFailure(err, target);
    ex.error = { code: failure.code, message: failure.message };
    if (failure.code !== 'client_closed' && !res.destroyed) {
      // A well-formed last event the SDKs surface as an error, then a clean end of the stream.
      client.error(new GatewayError(statusForClient(failure.status, ex.errorFormat), `stream interrupted: ${failure.message}`, failure.code));
    }
  }
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
