import { GatewayError } from '../../runtime/relay/errors';
import { isObject, objects, parseArguments, str, type Json } from './json';
import { alternatingTurns } from '../turns';

/** Anthropic requires max_tokens; OpenAI clients often leave it out. */
export const DEFAULT_MAX_TOKENS = 4096;

/**
 * OpenAI chat request → Anthropic Messages request.
 *
 * - system and developer messages → `system` text blocks (all of them, in order, wherever they stand).
 * - user content: text parts → text blocks, image_url (data URL → base64 source, http(s) → url source), file parts
 *   with base64 PDF data → document blocks; audio → 400.
 * - assistant: content → text block, tool_calls → tool_use blocks (arguments parsed; empty → `{}`; not JSON → 400).
 * - tool messages → tool_result blocks in one user turn, followed by the next user message's content (Anthropic wants
 *   the results first, right after the tool_use turn).
 * - tools → `{name, description, input_schema}`; tool_choice auto/required/none/{function} → auto/any/none/tool;
 *   parallel_tool_calls: false → disable_parallel_tool_use; stop → stop_sequences; user → metadata.user_id;
 *   max_completion_tokens ?? max_tokens ?? 4096 → max_tokens; temperature, top_p, top_k (if sent), stream.
 * - n > 1 and response_format json_object/json_schema have no Anthropic form: 400 rather than a silently different
 *   answer. Other OpenAI-only fields (seed, logprobs, presence/frequency penalties…) are dropped.
 * - `cache_control` on a content part (or on a message, as some clients send it) is carried to the block.
 */
export function openAiRequestToAnthropic(req: Json, model: string): Json {
  if (typeof req.n === 'number' && req.n > 1) throw new GatewayError(400, 'n > 1 is not supported by this provider', 'unsupported_parameter');
  const format = isObject(req.response_format) ? str(req.response_format.type) : '';
  if (format && format !== 'text') {
    throw new GatewayError(400, `response_format ${format} is not supported by this provider`, 'unsupported_parameter');
  }
  const system: Json[] = [];
  const { turns, push } = alternatingTurns<'user' | 'assistant'>();
  objects(req.messages).forEach((m, i) => {
    const role = str(m.role);
    const at = `messages.${i}`;
    if (role === 'system' || role === 'developer') system.push(...textBlocks(m.content, m, at));
    else if (role === 'user') push('user', userBlocks(m.content, m, at));
    else if (role === 'assistant') push('assistant', assistantBlocks(m, at));
    else if (role === 'tool') push('user', [toolResultBlock(m)]);
    else throw new GatewayError(400, `${at}.role "${role}" is not supported by this provider`, 'unsupported_content');
  });

  const body: Json = {
    model,
    max_tokens: firstInt(req.max_completion_tokens, req.max_tokens) ?? DEFAULT_MAX_TOKENS,
    messages: turns,
  };
  if (system.length > 0) body.system = system;
  for (const field of ['temperature', 'top_p', 'top_k', 'stream'] as const) if (req[field] !== undefined && req[field] !== null) body[field] = req[field];
  const stop = typeof req.stop === 'string' ? [req.stop] : Array.isArray(req.stop) ? req.stop : [];
  if (stop.length > 0) body.stop_sequences = stop;
  const tools = objects(req.tools).filter((t) => t.type === 'function' && isObject(t.function));
  if (tools.length > 0) {
    body.tools = tools.map((t) => {
      const fn = t.function as Json;
      return {
        name: fn.name,
        ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
        input_schema: isObject(fn.parameters) ? fn.parameters : { type: 'object', properties: {} },
        ...(isObject(t.cache_control) ? { cache_control: t.cache_control } : {}),
      };
    });
  }
  const choice = toolChoice(req.tool_choice, req.parallel_tool_calls === false);
  if (choice) body.tool_choice = choice;
  if (typeof req.user === 'string' && req.user) body.metadata = { user_id: req.user };
  return body;
}

function firstInt(...values: unknown[]): number | undefined {
  for (const v of values) if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  return undefined;
}

function withCache(block: Json, from: Json): Json {
  return isObject(from.cache_control) ? { ...block, cache_control: from.cache_control } : block;
}

function textBlocks(content: unknown, message: Json, at: string): Json[] {
  if (typeof content === 'string') return content === '' ? [] : [withCache({ type: 'text', text: content }, message)];
  return objects(content).map((part, i) => {
    if (part.type !== 'text') throw new GatewayError(400, `${at}.content.${i}: only text parts are allowed here`, 'unsupported_content');
    return withCache({ type: 'text', text: str(part.text) }, part);
  });
}

function userBlocks(content: unknown, message: Json, at: string): Json[] {
  if (typeof content === 'string') return [withCache({ type: 'text', text: content }, message)];
  return objects(content).map((part, i) => withCache(userBlock(part, `${at}.content.${i}`), part));
}

function userBlock(part: Json, at: string): Json {
  switch (part.type) {
    case 'text':
      return { type: 'text', text: str(part.text) };
    case 'image_url':
      return { type: 'image', source: imageSource(isObject(part.image_url) ? str(part.image_url.url) : '', at) };
    case 'file': {
      const data = isObject(part.file) ? str(part.file.file_data) : '';
      const match = /^data:(application\/pdf);base64,(.*)$/s.exec(data);
      if (!match) throw new GatewayError(400, `${at}: only base64 PDF files can be sent to this provider`, 'unsupported_content');
      return { type: 'document', source: { type: 'base64', media_type: match[1], data: match[2] } };
    }
    default:
      throw new GatewayError(400, `${at}: content part type "${str(part.type)}" is not supported by this provider`, 'unsupported_content');
  }
}

function imageSource(url: string, at: string): Json {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) return { type: 'base64', media_type: data[1], data: data[2] };
  if (/^https?:\/\//i.test(url)) return { type: 'url', url };
  throw new GatewayError(400, `${at}: image_url must be a base64 data URL or an http(s) URL`, 'unsupported_content');
}

function assistantBlocks(m: Json, at: string): Json[] {
  const blocks: Json[] = [];
  if (typeof m.content === 'string' && m.content !== '') blocks.push({ type: 'text', text: m.content });
  else if (Array.isArray(m.content)) {
    for (const part of objects(m.content)) if (part.type === 'text' && str(part.text) !== '') blocks.push(withCache({ type: 'text', text: str(part.text) }, part));
  }
  objects(m.tool_calls).forEach((call, i) => {
    const fn = isObject(call.function) ? call.function : {};
    const input = parseArguments(fn.arguments);
    if (!input) throw new GatewayError(400, `${at}.tool_calls.${i}.function.arguments: not a JSON object`, 'invalid_tool_arguments');
    blocks.push({ type: 'tool_use', id: str(call.id), name: str(fn.name), input });
  });
  return blocks;
}

function toolResultBlock(m: Json): Json {
  const content = typeof m.content === 'string' ? m.content : objects(m.content).filter((p) => p.type === 'text').map((p) => ({ type: 'text', text: str(p.text) }));
  return { type: 'tool_result', tool_use_id: str(m.tool_call_id), content };
}

function toolChoice(choice: unknown, noParallel: boolean): Json | undefined {
  let out: Json | undefined;
  if (choice === 'auto') out = { type: 'auto' };
  else if (choice === 'required') out = { type: 'any' };
  else if (choice === 'none') out = { type: 'none' };
  else if (isObject(choice) && isObject(choice.function)) out = { type: 'tool', name: str(choice.function.name) };
  if (noParallel) out = { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return out;
}
