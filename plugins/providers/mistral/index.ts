import { str } from '../anthropic/json';
import { bearerWire, clientWantsUsage, openAiCompatible } from '../openai';
import type { ProviderAdapter, UpstreamRequest } from '../types';
import { openAiEmbeddingsToMistral, openAiRequestToMistral } from './request';
import { MistralStreamFilter, mistralErrorMessage } from './stream';

const { url, headers } = bearerWire;

/**
 * Mistral La Plateforme: OpenAI's chat shape with Mistral's own field names (./request.ts), usage in the last chunk
 * of a stream (./stream.ts), OpenAI-shaped answers, embeddings and model list.
 */
export const mistral: ProviderAdapter = {
  ...openAiCompatible('mistral', 'https://api.mistral.ai/v1'),
  chatRequest(body, target) {
    const stream = body.stream === true;
    const request: UpstreamRequest = {
      method: 'POST',
      url: url(target, '/chat/completions'),
      headers: { ...headers(target), ...(stream ? { accept: 'text/event-stream' } : {}) },
      body: JSON.stringify(openAiRequestToMistral(body, str(target.model ?? body.model))),
    };
    return stream ? { request, filter: new MistralStreamFilter(clientWantsUsage(body)) } : { request };
  },
  embeddingsRequest(body, target) {
    return { method: 'POST', url: url(target, '/embeddings'), headers: headers(target), body: JSON.stringify(openAiEmbeddingsToMistral(body, str(target.model ?? body.model))) };
  },
  errorMessage: mistralErrorMessage,
};
