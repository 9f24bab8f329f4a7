import type { ProviderAdapter, ProviderTarget, UpstreamRequest } from '../types';
import { OpenAiChatStreamFilter } from './stream';
import { openAiUsage } from './usage';

function headers(target: ProviderTarget): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (target.apiKey) h.authorization = `Bearer ${target.apiKey}`;
  return h;
}

function url(target: ProviderTarget, path: string): string {
  return `${target.baseUrl.replace(/\/+$/, '')}${path}`;
}

function withModel(body: Record<string, unknown>, target: ProviderTarget): Record<string, unknown> {
  return target.model ? { ...body, model: target.model } : body;
}

/** OpenAI and every server that speaks its API (Ollama, vLLM, llama.cpp, Groq, Together, DeepSeek, …). */
export function openAiCompatible(id: string, defaultBaseUrl?: string, needsApiKey = true): ProviderAdapter {
  return {
    id,
    defaultBaseUrl,
    needsApiKey,
    chatRequest(body, target) {
      const upstreamBody = withModel(body, target);
      if (body.stream !== true) {
        return { request: { method: 'POST', url: url(target, '/chat/completions'), headers: headers(target), body: JSON.stringify(upstreamBody) } };
      }
      const clientOptions = (typeof body.stream_options === 'object' && body.stream_options) || {};
      const clientWantsUsage = (clientOptions as { include_usage?: unknown }).include_usage === true;
      const request: UpstreamRequest = {
        method: 'POST',
        url: url(target, '/chat/completions'),
        headers: { ...headers(target), accept: 'text/event-stream' },
        body: JSON.stringify({ ...upstreamBody, stream_options: { ...clientOptions, include_usage: true } }),
      };
      return { request, filter: new OpenAiChatStreamFilter(clientWantsUsage) };
    },
    embeddingsRequest(body, target) {
      return { method: 'POST', url: url(target, '/embeddings'), headers: headers(target), body: JSON.stringify(withModel(body, target)) };
    },
    modelsRequest(target) {
      return { method: 'GET', url: url(target, '/models'), headers: headers(target) };
    },
    usageFromBody(json) {
      return typeof json === 'object' && json !== null ? openAiUsage((json as { usage?: unknown }).usage) : undefined;
    },
    errorMessage(json) {
      const message = (json as { error?: { message?: unknown } } | null)?.error?.message;
      return typeof message === 'string' ? message : undefined;
    },
  };
}

export const openai = openAiCompatible('openai', 'https://api.openai.com/v1');
