import { GatewayError } from '../../runtime/relay/errors';
import { isObject, str } from '../anthropic/json';
import { clientWantsUsage } from '../openai';
import type { ProviderAdapter, ProviderTarget, UpstreamRequest } from '../types';
import { batchEmbedContentsBody, embeddingsToOpenAi, modelsToOpenAi, predictBody, predictUsage } from './embeddings';
import { googleErrorMessage } from './errors';
import { openAiRequestToGemini } from './request';
import { geminiResponseToCompletion, geminiUsage } from './response';
import { GeminiToOpenAiStream } from './stream';

/** What differs between Google AI Studio and Vertex AI: where a model lives, how to authenticate, how to embed. */
interface GoogleApi {
  id: 'gemini' | 'vertex';
  defaultBaseUrl: string;
  /** URL of a model method, e.g. `…/models/gemini-2.5-flash:generateContent`. */
  modelUrl(target: ProviderTarget, model: string, method: string): string;
  authHeaders(target: ProviderTarget): Record<string, string>;
  embeddingsRequest(body: Record<string, unknown>, target: ProviderTarget, model: string): UpstreamRequest;
  modelsRequest(target: ProviderTarget): UpstreamRequest;
}

const trimmed = (url: string) => url.replace(/\/+$/, '');
const jsonHeaders = { 'content-type': 'application/json', accept: 'application/json' };

/** The model named by the configuration or the client, without the `models/` prefix Google's own names carry. */
function modelOf(body: Record<string, unknown>, target: ProviderTarget): string {
  const model = str(target.model ?? body.model).replace(/^models\//, '');
  if (!model) throw new GatewayError(400, 'model is required', 'missing_model');
  return model;
}

const post = (api: GoogleApi, target: ProviderTarget, url: string, body: unknown, stream = false): UpstreamRequest => ({
  method: 'POST',
  url,
  headers: { ...jsonHeaders, ...api.authHeaders(target), ...(stream ? { accept: 'text/event-stream' } : {}) },
  body: JSON.stringify(body),
});

const aiStudio: GoogleApi = {
  id: 'gemini',
  defaultBaseUrl: 'https://generativelanguage.googleapis.com/v1beta',
  modelUrl: (target, model, method) => `${trimmed(target.baseUrl)}/models/${encodeURIComponent(model)}:${method}`,
  authHeaders: (target): Record<string, string> => (target.apiKey ? { 'x-goog-api-key': target.apiKey } : {}),
  embeddingsRequest(body, target, model) {
    return post(aiStudio, target, aiStudio.modelUrl(target, model, 'batchEmbedContents'), batchEmbedContentsBody(body, model));
  },
  modelsRequest: (target) => ({ method: 'GET', url: `${trimmed(target.baseUrl)}/models?pageSize=1000`, headers: { accept: 'application/json', ...aiStudio.authHeaders(target) } }),
};

const VERTEX_GLOBAL_BASE_URL = 'https://aiplatform.googleapis.com/v1';

/**
 * Vertex AI. base_url is everything before `/projects/…`; unset, it is the endpoint of `options.vertex.location`
 * (`https://{location}-aiplatform.googleapis.com/v1`, or aiplatform.googleapis.com for `global`).
 */
const vertexApi: GoogleApi = {
  id: 'vertex',
  defaultBaseUrl: VERTEX_GLOBAL_BASE_URL,
  modelUrl(target, model, method) {
    const { project, location } = target.options.vertex;
    if (!project) throw new GatewayError(500, 'llm-proxy: provider vertex needs options.vertex.project', 'gateway_misconfigured');
    // the location becomes part of a host name
    if (!/^[a-z0-9-]+$/.test(location)) throw new GatewayError(500, 'llm-proxy: options.vertex.location is not a Vertex AI location', 'gateway_misconfigured');
    const base = target.baseUrl === VERTEX_GLOBAL_BASE_URL && location !== 'global' ? `https://${location}-aiplatform.googleapis.com/v1` : trimmed(target.baseUrl);
    const path = `projects/${encodeURIComponent(project)}/locations/${encodeURIComponent(location)}/publishers/google/models/${encodeURIComponent(model)}`;
    return `${base}/${path}:${method}`;
  },
  authHeaders: (target): Record<string, string> => (target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {}),
  embeddingsRequest(body, target, model) {
    return post(vertexApi, target, vertexApi.modelUrl(target, model, 'predict'), predictBody(body));
  },
  modelsRequest() {
    throw new GatewayError(404, 'provider vertex: Vertex AI has no model list for publisher models; name the model in the request', 'unsupported_api');
  },
};

/**
 * Google Gemini through the Generative Language API (AI Studio) or Vertex AI: OpenAI-shaped requests become
 * `:generateContent` / `:streamGenerateContent?alt=sse` requests (./request.ts) and the answers OpenAI completions
 * and chunks (./response.ts, ./stream.ts); embeddings use `:batchEmbedContents` (AI Studio) or `:predict` (Vertex).
 */
function googleAdapter(api: GoogleApi): ProviderAdapter {
  return {
    id: api.id,
    defaultBaseUrl: api.defaultBaseUrl,
    chatRequest(body, target) {
      const model = modelOf(body, target);
      const native = openAiRequestToGemini(body);
      if (body.stream !== true) return { request: post(api, target, api.modelUrl(target, model, 'generateContent'), native) };
      const request = post(api, target, `${api.modelUrl(target, model, 'streamGenerateContent')}?alt=sse`, native, true);
      return { request, filter: new GeminiToOpenAiStream(clientWantsUsage(body), model) };
    },
    embeddingsRequest: (body, target) => api.embeddingsRequest(body, target, modelOf(body, target)),
    modelsRequest: (target) => api.modelsRequest(target),
    usageFromBody: (json) => (isObject(json) ? (geminiUsage(json.usageMetadata) ?? predictUsage(json)) : undefined),
    errorMessage: googleErrorMessage,
    completionFromBody: (json, model) => (isObject(json) && (Array.isArray(json.candidates) || isObject(json.promptFeedback)) ? geminiResponseToCompletion(json, model) : undefined),
    embeddingsFromBody: (json, request, model) => embeddingsToOpenAi(json, request, model),
    modelsFromBody: modelsToOpenAi,
  };
}

export const gemini = googleAdapter(aiStudio);
export const vertex = googleAdapter(vertexApi);
