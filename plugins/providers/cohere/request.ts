import { GatewayError } from '../../runtime/relay/errors';
import { isObject, objects, str, type Json } from '../anthropic/json';

/**
 * OpenAI chat request → Cohere v2 chat request.
 *
 * - system/developer → system messages; user content: text and image_url parts (other parts → 400); assistant
 *   content → text, tool_calls → tool_calls (same shape); tool messages → `{role:"tool", tool_call_id, content}`.
 * - tools → tools (Cohere v2 takes OpenAI's function shape); tool_choice required/none → REQUIRED/NONE, auto → left
 *   out, a named function → only that tool offered, REQUIRED.
 * - response_format json_object → `{type:"json_object"}`, json_schema → `{type:"json_object", json_schema}`.
 * - stop → stop_sequences; max_completion_tokens ?? max_tokens → max_tokens; top_p → p; top_k → k; temperature,
 *   seed, frequency_penalty, presence_penalty, stream as they are.
 * - n > 1, logprobs and audio output → 400. user, metadata, store, service_tier, logit_bias, stream_options,
 *   parallel_tool_calls and other OpenAI-only fields are dropped.
 */
export function openAiRequestToCohere(req: Json, model: string): Json {
  if (typeof req.n === 'number' && req.n > 1) throw unsupported('n > 1');
  if (req.logprobs === true) throw unsupported('logprobs');
  if (isObject(req.audio) || (Array.isArray(req.modalities) && req.modalities.includes('audio'))) throw unsupported('audio output');

  const body: Json = { model, messages: objects(req.messages).map(cohereMessage) };
  for (const field of ['temperature', 'seed', 'frequency_penalty', 'presence_penalty', 'stream'] as const) {
    if (req[field] !== undefined && req[field] !== null) body[field] = req[field];
  }
  if (typeof req.top_p === 'number') body.p = req.top_p;
  if (typeof req.top_k === 'number') body.k = req.top_k;
  const maxTokens = req.max_completion_tokens ?? req.max_tokens;
  if (typeof maxTokens === 'number') body.max_tokens = maxTokens;
  const stop = typeof req.stop === 'string' ? [req.stop] : Array.isArray(req.stop) ? req.stop : [];
  if (stop.length > 0) body.stop_sequences = stop;
  const format = responseFormat(req.response_format);
  if (format) body.response_format = format;
  Object.assign(body, toolsAndChoice(req));
  return body;
}

const unsupported = (what: string) => new GatewayError(400, `${what} is not supported by provider cohere`, 'unsupported_parameter');

function cohereMessage(m: Json, i: number): Json {
  const role = str(m.role);
  const at = `messages.${i}`;
  switch (role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: textOf(m.content, at) };
    case 'user':
      return { role: 'user', content: typeof m.content === 'string' ? m.content : objects(m.content).map((p, j) => userPart(p, `${at}.content.${j}`)) };
    case 'assistant': {
      const out: Json = { role: 'assistant' };
      const text = textOf(m.content, at);
      if (text !== '') out.content = text;
      const calls = objects(m.tool_calls);
      if (calls.length > 0) {
        out.tool_calls = calls.map((c) => {
          const fn = isObject(c.function) ? c.function : {};
          return { id: str(c.id), type: 'function', function: { name: str(fn.name), arguments: str(fn.arguments) || '{}' } };
        });
      }
      return out;
    }
    case 'tool':
      return { role: 'tool', tool_call_id: str(m.tool_call_id), content: textOf(m.content, at) };
    default:
      throw new GatewayError(400, `${at}.role "${role}" is not supported by provider cohere`, 'unsupported_content');
  }
}

function textOf(content: unknown, at: string): string {
  if (typeof content === 'string') return content;
  return objects(content)
    .map((part, j) => {
      if (part.type !== 'text') throw new GatewayError(400, `${at}.content.${j}: only text parts are allowed here`, 'unsupported_content');
      return str(part.text);
    })
    .join('');
}

function userPart(part: Json, at: string): Json {
  if (part.type === 'text') return { type: 'text', text: str(part.text) };
  if (part.type === 'image_url') {
    const url = isObject(part.image_url) ? str(part.image_url.url) : str(part.image_url);
    return { type: 'image_url', image_url: { url } };
  }
  throw new GatewayError(400, `${at}: content part type "${str(part.type)}" is not supported by provider cohere`, 'unsupported_content');
}

function responseFormat(format: unknown): Json | undefined {
  if (!isObject(format)) return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type === 'json_schema') {
    const schema = isObject(format.json_schema) ? format.json_schema.schema : undefined;
    return isObject(schema) ? { type: 'json_object', json_schema: schema } : { type: 'json_object' };
  }
  return undefined;
}

function toolsAndChoice(req: Json): Json {
  let tools = objects(req.tools).filter((t) => t.type === 'function' && isObject(t.function));
  const choice = req.tool_choice;
  const out: Json = {};
  if (isObject(choice) && isObject(choice.function)) {
    // Cohere cannot name the tool to call: offer only that one, and require a call
    const name = str(choice.function.name);
    tools = tools.filter((t) => (t.function as Json).name === name);
    if (tools.length === 0) throw new GatewayError(400, `tool_choice names function "${name}", which is not in tools`, 'invalid_tool_choice');
    out.tool_choice = 'REQUIRED';
  } else if (choice === 'required') out.tool_choice = 'REQUIRED';
  else if (choice === 'none') out.tool_choice = 'NONE';
  if (tools.length > 0) {
    out.tools = tools.map((t) => {
      const fn = t.function as Json;
      return {
        type: 'function',
        function: {
          name: fn.name,
          ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
          parameters: isObject(fn.parameters) ? fn.parameters : { type: 'object', properties: {} },
        },
      };
    });
  } else delete out.tool_choice;
  return out;
}

/** OpenAI embeddings request → Cohere v2 embed request (documents to be searched, float vectors). */
export function openAiEmbeddingsToCohere(req: Json, model: string): Json {
  const input = req.input;
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) && input.every((t) => typeof t === 'string') ? input : undefined;
  if (!texts || texts.length === 0) throw new GatewayError(400, 'input must be a string or an array of strings for provider cohere (token arrays are not supported)', 'unsupported_parameter');
  const body: Json = { model, texts, input_type: 'search_document', embedding_types: ['float'] };
  if (typeof req.dimensions === 'number') body.output_dimension = req.dimensions;
  return body;
}
