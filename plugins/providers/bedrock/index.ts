import { GatewayError } from '../../runtime/relay/errors';
import { isObject, str } from '../anthropic/json';
import type { ProviderAdapter, ProviderTarget } from '../types';
import { signedPost } from './aws';
import { bedrockUsage, converseToCompletion } from './converse-answer';
import { openAiRequestToConverse } from './converse-request';
import { titanEmbeddingsBody, titanToOpenAiEmbeddings, titanUsage } from './embeddings';
import { bedrockErrorMessage } from './errors';
import { eventStreamDecoder } from './eventstream';
import { ConverseToOpenAiStream } from './stream-to-openai';

function modelOf(body: Record<string, unknown>, target: ProviderTarget): string {
  const model = target.model ?? str(body.model);
  if (!model) throw new GatewayError(400, 'model is required (a Bedrock model id, inference profile id or ARN)', 'missing_model');
  return model;
}

/** `/model/{modelId}/…` with the id URI-encoded: ids contain `:` and ARNs `/`. */
const modelPath = (model: string, action: string) => `/model/${encodeURIComponent(model)}/${action}`;

/**
 * AWS Bedrock through the Converse and ConverseStream APIs, signed with SigV4 (./aws.ts; region and keys from
 * options.bedrock or the AWS_* environment). OpenAI-shaped requests are translated (./converse-request.ts), answers
 * translated back (./converse-answer.ts), and the binary event stream decoded (./eventstream.ts) into OpenAI chunks
 * (./stream-to-openai.ts). Embeddings go to a Titan embeddings model's InvokeModel (./embeddings.ts).
 */
export const bedrock: ProviderAdapter = {
  id: 'bedrock',
  defaultBaseUrl: 'https://bedrock-runtime.{region}.amazonaws.com',
  needsApiKey: false,
  streamDecoder: eventStreamDecoder,
  chatRequest(body, target) {
    const model = modelOf(body, target);
    const stream = body.stream === true;
    const converse = JSON.stringify(openAiRequestToConverse(body));
    if (!stream) return { request: signedPost(target, modelPath(model, 'converse'), converse, 'application/json') };
    const options = isObject(body.stream_options) ? body.stream_options : {};
    return {
      request: signedPost(target, modelPath(model, 'converse-stream'), converse, 'application/vnd.amazon.eventstream'),
      filter: new ConverseToOpenAiStream(options.include_usage === true, model),
    };
  },
  embeddingsRequest(body, target) {
    return signedPost(target, modelPath(modelOf(body, target), 'invoke'), JSON.stringify(titanEmbeddingsBody(body)), 'application/json');
  },
  modelsRequest() {
    throw new GatewayError(404, 'provider bedrock: the model list is not served through this route (see ListFoundationModels in the AWS console or CLI)', 'unsupported_api');
  },
  usageFromBody(json) {
    if (!isObject(json)) return undefined;
    return json.usage !== undefined ? bedrockUsage(json.usage) : titanUsage(json);
  },
  errorMessage: bedrockErrorMessage,
  completionFromBody(json, model) {
    return isObject(json) && isObject(json.output) ? converseToCompletion(json, model) : undefined;
  },
  embeddingsFromBody: (json, request, model) => titanToOpenAiEmbeddings(json, request, model),
};
