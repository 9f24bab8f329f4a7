import { GatewayError } from '../../runtime/relay/errors';
import type { Usage } from '../../runtime/relay/stage';
import { countTextTokens } from '../../runtime/tokenizer';
import { int, isObject, objects, str, type Json } from '../anthropic/json';

/** The texts of an OpenAI embeddings request; token-id inputs have no Gemini form. */
export function embeddingInputs(body: Json): string[] {
  const input = body.input;
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) && input.every((t) => typeof t === 'string') ? (input as string[]) : undefined;
  if (!texts) throw new GatewayError(400, 'input must be a string or an array of strings for this provider (token arrays are not supported)', 'unsupported_parameter');
  if (texts.length === 0) throw new GatewayError(400, 'input must not be empty', 'invalid_input');
  return texts;
}

const dimensionsOf = (body: Json): number | undefined => (typeof body.dimensions === 'number' && Number.isInteger(body.dimensions) && body.dimensions > 0 ? body.dimensions : undefined);

/** Google AI Studio `models/{model}:batchEmbedContents` body. */
export function batchEmbedContentsBody(body: Json, model: string): Json {
  const dimensions = dimensionsOf(body);
  return {
    requests: embeddingInputs(body).map((text) => ({ model: `models/${model}`, content: { parts: [{ text }] }, ...(dimensions ? { outputDimensionality: dimensions } : {}) })),
  };
}

/** Vertex AI text-embedding `:predict` body. */
export function predictBody(body: Json): Json {
  const dimensions = dimensionsOf(body);
  return { instances: embeddingInputs(body).map((content) => ({ content })), ...(dimensions ? { parameters: { outputDimensionality: dimensions } } : {}) };
}

/** The vectors of either answer: AI Studio's `embeddings[].values` or Vertex's `predictions[].embeddings.values`. */
function vectorsOf(json: Json): number[][] | undefined {
  if (Array.isArray(json.embeddings)) return objects(json.embeddings).map((e) => numbers(e.values));
  if (Array.isArray(json.predictions)) return objects(json.predictions).map((p) => numbers(isObject(p.embeddings) ? p.embeddings.values : undefined));
  return undefined;
}

const numbers = (v: unknown): number[] => (Array.isArray(v) ? v.filter((n): n is number => typeof n === 'number') : []);

/** Vertex reports tokens per input (`statistics.token_count`); AI Studio reports none. */
export function predictUsage(json: Json): Usage | undefined {
  if (!Array.isArray(json.predictions)) return undefined;
  const counts = objects(json.predictions).map((p) => (isObject(p.embeddings) && isObject(p.embeddings.statistics) ? int(p.embeddings.statistics.token_count) : undefined));
  if (counts.some((c) => c === undefined)) return undefined;
  const tokens = counts.reduce<number>((sum, c) => sum + (c ?? 0), 0);
  return { promptTokens: tokens, completionTokens: 0, totalTokens: tokens, estimated: false };
}

/** OpenAI's `base64` encoding: the little-endian float32 bytes of the vector. */
export function float32Base64(vector: number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes.toString('base64');
}

/**
 * Either Google embeddings answer → OpenAI's embeddings list, in the client's `encoding_format`. Usage is Vertex's
 * token counts, or (AI Studio reports none) our own count of the input texts.
 */
export function embeddingsToOpenAi(json: unknown, request: Json, model: string): Json | undefined {
  const vectors = isObject(json) ? vectorsOf(json) : undefined;
  if (!isObject(json) || !vectors) return undefined;
  const base64 = request.encoding_format === 'base64';
  const usage = predictUsage(json);
  const tokens = usage?.promptTokens ?? embeddingInputs(request).reduce((sum, text) => sum + countTextTokens(text, model), 0);
  return {
    object: 'list',
    data: vectors.map((vector, index) => ({ object: 'embedding', index, embedding: base64 ? float32Base64(vector) : vector })),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** AI Studio's model list → OpenAI's. */
export function modelsToOpenAi(json: unknown): Json | undefined {
  if (!isObject(json) || !Array.isArray(json.models)) return undefined;
  return {
    object: 'list',
    data: objects(json.models).map((m) => ({ id: str(m.name).replace(/^models\//, ''), object: 'model', created: 0, owned_by: 'google' })),
  };
}
