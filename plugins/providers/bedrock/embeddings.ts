import { GatewayError } from '../../runtime/relay/errors';
import type { Usage } from '../../runtime/relay/stage';
import { int, isObject, type Json } from '../anthropic/json';
import { float32Base64 } from '../gemini/embeddings';

/**
 * OpenAI embeddings request → the body of Titan Text Embeddings' InvokeModel (`{inputText, dimensions?}`). Titan
 * embeds one text per call and the relay makes one upstream call per request, so `input` must be one string
 * (or a list of one); token-id inputs have no Titan form. Both → 400.
 */
export function titanEmbeddingsBody(req: Json): Json {
  const input = Array.isArray(req.input) && req.input.length === 1 ? req.input[0] : req.input;
  if (typeof input !== 'string' || input === '') {
    throw new GatewayError(400, 'provider bedrock (Titan embeddings) embeds one non-empty text per request: send input as a single string', 'unsupported_parameter');
  }
  const body: Json = { inputText: input };
  if (typeof req.dimensions === 'number') body.dimensions = req.dimensions;
  return body;
}

/** Titan's `{embedding, inputTextTokenCount}` → OpenAI's embeddings list (base64 when the client asked for it). */
export function titanToOpenAiEmbeddings(json: unknown, request: Json, model: string): Json | undefined {
  if (!isObject(json) || !Array.isArray(json.embedding)) return undefined;
  const vector = json.embedding as number[];
  const tokens = int(json.inputTextTokenCount) ?? 0;
  return {
    object: 'list',
    data: [{ object: 'embedding', index: 0, embedding: request.encoding_format === 'base64' ? float32Base64(vector) : vector }],
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

export function titanUsage(json: Json): Usage | undefined {
  const tokens = int(json.inputTextTokenCount);
  return tokens === undefined ? undefined : { promptTokens: tokens, completionTokens: 0, totalTokens: tokens, estimated: false };
}
