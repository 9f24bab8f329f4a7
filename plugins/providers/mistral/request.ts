import { createHash } from 'node:crypto';
import { GatewayError } from '../../runtime/relay/errors';
import { isObject, objects, str, type Json } from '../anthropic/json';

/** Fields Mistral's chat API takes as OpenAI sends them (it rejects unknown fields with 422). */
const PASSED = ['temperature', 'top_p', 'stream', 'stop', 'response_format', 'tools', 'presence_penalty', 'frequency_penalty', 'n', 'prediction', 'parallel_tool_calls'] as const;

/**
 * OpenAI chat request → Mistral chat request. Renamed: max_completion_tokens/max_tokens → max_tokens, seed →
 * random_seed, tool_choice "required" → "any", role developer → system. Dropped (no Mistral form, no effect on the
 * answer's content): user, logit_bias, store, service_tier, metadata, stream_options (Mistral always sends usage in
 * its last chunk), reasoning_effort and any other field. Refused with 400: logprobs and audio output.
 */
export function openAiRequestToMistral(req: Json, model: string): Json {
  if (req.logprobs === true || typeof req.top_logprobs === 'number') {
    throw new GatewayError(400, 'logprobs are not supported by provider mistral', 'unsupported_parameter');
  }
  if (isObject(req.audio) || (Array.isArray(req.modalities) && req.modalities.includes('audio'))) {
    throw new GatewayError(400, 'audio output is not supported by provider mistral', 'unsupported_parameter');
  }
  const body: Json = { model, messages: objects(req.messages).map(mistralMessage) };
  for (const field of PASSED) if (req[field] !== undefined && req[field] !== null) body[field] = req[field];
  const maxTokens = req.max_completion_tokens ?? req.max_tokens;
  if (typeof maxTokens === 'number') body.max_tokens = maxTokens;
  if (typeof req.seed === 'number') body.random_seed = req.seed;
  if (req.tool_choice !== undefined && req.tool_choice !== null) body.tool_choice = req.tool_choice === 'required' ? 'any' : req.tool_choice;
  return body;
}

/** Each role with only the fields Mistral's message schema has. */
function mistralMessage(m: Json, i: number): Json {
  const role = str(m.role);
  switch (role) {
    case 'system':
    case 'developer':
    case 'user':
      return { role: role === 'developer' ? 'system' : role, content: m.content };
    case 'assistant': {
      const out: Json = { role, content: m.content ?? '' };
      const calls = objects(m.tool_calls);
      if (calls.length > 0) out.tool_calls = calls.map((c) => ({ id: mistralToolCallId(c.id), type: 'function', function: c.function }));
      if (m.prefix === true) out.prefix = true;
      return out;
    }
    case 'tool':
      return { role, content: m.content, tool_call_id: mistralToolCallId(m.tool_call_id), ...(typeof m.name === 'string' ? { name: m.name } : {}) };
    default:
      throw new GatewayError(400, `messages.${i}.role "${role}" is not supported by provider mistral`, 'unsupported_content');
  }
}

const MISTRAL_ID = /^[A-Za-z0-9]{9}$/;

/**
 * Mistral accepts only tool-call ids of 9 letters and digits; ids from other providers (OpenAI's `call_…`) in a
 * conversation's history are mapped to such an id, the same one for the call and its result.
 */
export function mistralToolCallId(id: unknown): string {
  const s = str(id);
  if (MISTRAL_ID.test(s)) return s;
  return createHash('sha256').update(s).digest('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 9).padEnd(9, '0');
}

/** OpenAI embeddings request → Mistral's: dimensions → output_dimension; user dropped. */
export function openAiEmbeddingsToMistral(req: Json, model: string): Json {
  const body: Json = { model, input: req.input };
  if (typeof req.dimensions === 'number') body.output_dimension = req.dimensions;
  if (typeof req.encoding_format === 'string') body.encoding_format = req.encoding_format;
  return body;
}
