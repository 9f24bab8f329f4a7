import type { ProviderAdapter, ProviderTarget, UpstreamRequest } from '../types';
import { OpenAiChatStreamFilter } from './stream';
import { openAiUsage } from './usage';

/** Where an OpenAI-wire API lives and how it authenticates (OpenAI: `{base}/path`, Bearer; Azure differs in both). */
export interface OpenAiWire {
  url(target: ProviderTarget, path: '/chat/completions' | '/embeddings' | '/models', body?: Record<string, unknown>): string;
  headers(target: ProviderTarget): Record<string, string>;
}

export const bearerWire: OpenAiWire = {
  url: (target, path) => `${target.baseUrl.replace(/\/+$/, '')}${path}`,
  headers(target) {
    const h: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (target.apiKey) h.authorization = `Bearer ${target.apiKey}`;
    return h;
  },
};

function withModel(body: Record<string, unknown>, target: ProviderTarget): Record<string, unknown> {
  return target.model ? { ...body, model: target.model } : body;
}

/** OpenAI's error envelope `{"error":{"message",…}}`. */
function openAiErrorMessage(json: unknown): string | undefined {
  const message = (json as { error?: { message?: unknown } } | null)?.error?.message;
  return typeof message === 'string' ? message : undefined;
}

/** The client asked for the usage chunk of a stream (`stream_options.include_usage`). */
export function clientWantsUsage(body: Record<string, unknown>): boolean {
  const options = body.stream_options;
  return typeof options === 'object' && options !== null && (options as { include_usage?: unknown }).include_usage === true;
}

/** OpenAI and every server that speaks its API (Ollama, vLLM, llama.cpp, Groq, Together, DeepSeek, …). */
export function openAiCompatible(id: string, defaultBaseUrl?: string, needsApiKey = true, wire: OpenAiWire = bearerWire): ProviderAdapter {
  const { url, headers } = wire;
  return {
    id,
    defaultBaseUrl,
    needsApiKey,
    chatRequest(body, target) {
      const upstreamBody = withModel(body, target);
      if (body.stream !== true) {
        return { request: { method: 'POST', url: url(target, '/chat/completions', body), headers: headers(target), body: JSON.stringify(upstreamBody) } };
      }
      const clientOptions = (typeof body.stream_options === 'object' && body.stream_options) || {};
      const request: UpstreamRequest = {
        method: 'POST',
        url: url(target, '/chat/completions', body),
        headers: { ...headers(target), accept: 'text/event-stream' },
        body: JSON.stringify({ ...upstreamBody, stream_options: { ...clientOptions, include_usage: true } }),
      };
      return { request, filter: new OpenAiChatStreamFilter(clientWantsUsage(body)) };
    },
    embeddingsRequest(body, target) {
      return { method: 'POST', url: url(target, '/embeddings', body), headers: headers(target), body: JSON.stringify(withModel(body, target)) };
    },
    modelsRequest(target) {
      return { method: 'GET', url: url(target, '/models'), headers: headers(target) };
    },
    usageFromBody(json) {
      return typeof json === 'object' && json !== null ? openAiUsage((json as { usage?: unknown }).usage) : undefined;
    },
    errorMessage: openAiErrorMessage,
  };
}

export const openai = openAiCompatible('openai', 'https://api.openai.com/v1');
