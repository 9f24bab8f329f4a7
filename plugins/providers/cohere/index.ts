import { GatewayError } from '../../runtime/relay/errors';
import { str } from '../anthropic/json';
import { bearerWire, clientWantsUsage } from '../openai';
import type { ProviderAdapter, ProviderTarget, UpstreamRequest } from '../types';
import { cohereBodyUsage, cohereErrorMessage, cohereToCompletion, cohereToEmbeddings } from './answer';
import { openAiEmbeddingsToCohere, openAiRequestToCohere } from './request';
import { CohereToOpenAiStream } from './stream';

const post = (target: ProviderTarget, path: string, body: unknown, stream = false): UpstreamRequest => ({
  method: 'POST',
  url: `${target.baseUrl.replace(/\/+$/, '')}${path}`,
  headers: { ...bearerWire.headers(target), ...(stream ? { accept: 'text/event-stream' } : {}) },
  body: JSON.stringify(body),
});

/**
 * Cohere v2 (`/v2/chat`, `/v2/embed`): OpenAI-shaped requests are translated (./request.ts), answers and streams
 * translated back (./answer.ts, ./stream.ts).
 */
export const cohere: ProviderAdapter = {
  id: 'cohere',
  defaultBaseUrl: 'https://api.cohere.com/v2',
  chatRequest(body, target) {
    const model = str(target.model ?? body.model);
    const stream = body.stream === true;
    const request = post(target, '/chat', openAiRequestToCohere(body, model), stream);
    return stream ? { request, filter: new CohereToOpenAiStream(model, clientWantsUsage(body)) } : { request };
  },
  embeddingsRequest(body, target) {
    return post(target, '/embed', openAiEmbeddingsToCohere(body, str(target.model ?? body.model)));
  },
  modelsRequest() {
    throw new GatewayError(404, 'provider cohere: the model list is not served through this route', 'unsupported_api');
  },
  usageFromBody: cohereBodyUsage,
  errorMessage: cohereErrorMessage,
  completionFromBody: (json, model) => cohereToCompletion(json, model),
  embeddingsFromBody: (json, request, model) => cohereToEmbeddings(json, model, request.encoding_format === 'base64'),
};
