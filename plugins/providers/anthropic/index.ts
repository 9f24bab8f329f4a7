import { GatewayError } from '../../runtime/relay/errors';
import type { NativeCall, ProviderAdapter, ProviderTarget, UpstreamRequest } from '../types';
import { anthropicErrorMessage } from './errors';
import { isObject, str } from './json';
import { anthropicMessageToCompletion, anthropicUsage } from './message';
import { openAiRequestToAnthropic } from './outbound-request';
import { AnthropicPassThroughStream, applyCompletionToMessage, passThroughBody, type PassThroughMemo } from './passthrough';
import { AnthropicToOpenAiStream } from './stream-to-openai';

export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

type ClientHeaders = Record<string, string | string[] | undefined>;

function headers(target: ProviderTarget, stream: boolean, version?: string): Record<string, string> {
  const h: Record<string, string> = {
    'content-type': 'application/json',
    accept: stream ? 'text/event-stream' : 'application/json',
    'anthropic-version': version ?? target.apiVersion ?? DEFAULT_ANTHROPIC_VERSION,
  };
  if (target.apiKey) h['x-api-key'] = target.apiKey;
  return h;
}

function url(target: ProviderTarget, path: string): string {
  return `${target.baseUrl.replace(/\/+$/, '')}${path}`;
}

const header = (h: ClientHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
};

/**
 * Anthropic Messages API. OpenAI-shaped requests are translated (./outbound-request.ts) and answers translated back
 * (./message.ts, ./stream-to-openai.ts); a client speaking Anthropic's own API is passed through (./passthrough.ts)
 * with its anthropic-beta and anthropic-version headers.
 */
export const anthropic: ProviderAdapter = {
  id: 'anthropic',
  defaultBaseUrl: 'https://api.anthropic.com/v1',
  chatRequest(body, target) {
    const stream = body.stream === true;
    const native = openAiRequestToAnthropic(body, str(target.model ?? body.model));
    const request: UpstreamRequest = { method: 'POST', url: url(target, '/messages'), headers: headers(target, stream), body: JSON.stringify(native) };
    if (!stream) return { request };
    const options = isObject(body.stream_options) ? body.stream_options : {};
    return { request, filter: new AnthropicToOpenAiStream(options.include_usage === true) };
  },
  embeddingsRequest() {
    throw new GatewayError(400, 'provider anthropic has no embeddings API', 'unsupported_api');
  },
  modelsRequest() {
    throw new GatewayError(404, 'provider anthropic: the model list is not served through this route', 'unsupported_api');
  },
  usageFromBody(json) {
    return isObject(json) ? anthropicUsage(json.usage) : undefined;
  },
  errorMessage: anthropicErrorMessage,
  completionFromBody(json) {
    return isObject(json) && json.type === 'message' ? anthropicMessageToCompletion(json) : undefined;
  },
  nativeRequest(inbound, body, target, clientHeaders, query): NativeCall | undefined {
    if (inbound.api !== 'anthropic-messages') return undefined;
    const stream = inbound.body.stream === true;
    const native = passThroughBody(inbound.body, inbound.translation as PassThroughMemo, body, str(target.model ?? inbound.body.model));
    const h = headers(target, stream, header(clientHeaders, 'anthropic-version'));
    const beta = header(clientHeaders, 'anthropic-beta');
    if (beta) h['anthropic-beta'] = beta;
    const betaQuery = new URLSearchParams(query).get('beta');
    const request: UpstreamRequest = {
      method: 'POST',
      url: url(target, `/messages${betaQuery ? `?beta=${encodeURIComponent(betaQuery)}` : ''}`),
      headers: h,
      body: JSON.stringify(native),
    };
    return {
      request,
      filter: stream ? new AnthropicPassThroughStream() : undefined,
      translatingFilter: () => new AnthropicToOpenAiStream(false),
      toCompletion: (json) => (isObject(json) && json.type === 'message' ? anthropicMessageToCompletion(json) : undefined),
      applyCompletion: (json, completion) => (isObject(json) ? applyCompletionToMessage(json, completion) : json),
    };
  },
};
