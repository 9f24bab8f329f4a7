import { GatewayError } from '../../runtime/relay/errors';
import { isObject, objects, str, type Json } from './json';

/**
 * Anthropic Messages request → OpenAI chat request, the shape every stage of the suite reads.
 *
 * - `system` (string or text blocks) → one system message per block, in front; `role: "system"` turns inside
 *   `messages` (Claude Code sends some) → system messages where they are.
 * - user blocks: text → text parts (a single text block → string content), image (base64 → data URL, url → url) →
 *   image_url parts, document (base64 PDF) → file part, plain-text document → text part; tool_result → one `tool`
 *   message each, placed before the user's other content (OpenAI wants them right after the assistant's tool_calls);
 *   a tool_result's text blocks are joined, its images follow in a user message, `is_error` prefixes "Error: ".
 * - assistant blocks: text → content (joined), tool_use → tool_calls (input as JSON arguments); thinking and
 *   redacted_thinking have no OpenAI form and stay only in the original request (pass-through keeps them).
 * - tools → function tools (server tools without input_schema have no OpenAI form: left out); tool_choice
 *   auto/any/tool/none → auto/required/{function}/none, disable_parallel_tool_use → parallel_tool_calls: false;
 *   stop_sequences → stop; metadata.user_id → user; max_tokens, temperature, top_p, stream as they are.
 *   top_k, thinking, cache_control, context_management, output_config and any other field have no OpenAI form:
 *   they stay in the original request, which the Anthropic provider sends when it can (see ./passthrough.ts).
 *
 * Every text the stages may rewrite is recorded as a slot (its path here and in the original), so that edits made by
 * the stages (a PII redaction) can be applied back to the original request without losing what has no OpenAI form.
 */
export interface TextSlot {
  openai: (string | number)[];
  anthropic: (string | number)[];
  /** `json`: tool-call arguments ↔ tool_use input; `text` with `prefix`: the prefix is ours, not the client's. */
  kind: 'text' | 'json';
  prefix?: string;
}

export interface InboundTranslation {
  body: Json;
  slots: TextSlot[];
}

const TOOL_ERROR_PREFIX = 'Error: ';

export function anthropicRequestToOpenAi(req: Json): InboundTranslation {
  const slots: TextSlot[] = [];
  const messages: Json[] = [];
  const slot = (openaiTail: (string | number)[], anthropic: (string | number)[], kind: TextSlot['kind'] = 'text', prefix?: string) =>
    slots.push({ openai: ['messages', messages.length, ...openaiTail], anthropic, kind, ...(prefix ? { prefix } : {}) });

  if (typeof req.system === 'string') {
    slot(['content'], ['system']);
    messages.push({ role: 'system', content: req.system });
  } else if (Array.isArray(req.system)) {
    req.system.forEach((block, i) => {
      if (!isObject(block) || typeof block.text !== 'string') return;
      slot(['content'], ['system', i, 'text']);
      messages.push({ role: 'system', content: block.text });
    });
  }

  if (!Array.isArray(req.messages)) throw new GatewayError(400, 'messages: Field required', 'invalid_request');
  req.messages.forEach((message, m) => {
    if (!isObject(message)) throw new GatewayError(400, `messages.${m}: must be an object`, 'invalid_request');
    const role = str(message.role);
    const at = ['messages', m];
    if (role === 'assistant') return void assistantMessage(message, at, messages, slot);
    if (role === 'user' || role === 'system') return void userMessage(message, role, at, messages, slot);
    throw new GatewayError(400, `messages.${m}.role: must be "user" or "assistant"`, 'invalid_request');
  });

  const body: Json = { model: req.model, messages };
  if (typeof req.max_tokens === 'number') body.max_tokens = req.max_tokens;
  for (const field of ['temperature', 'top_p', 'stream'] as const) if (req[field] !== undefined) body[field] = req[field];
  if (Array.isArray(req.stop_sequences) && req.stop_sequences.length > 0) body.stop = req.stop_sequences;
  const tools = objects(req.tools).filter((t) => isObject(t.input_schema) || t.type === 'custom');
  if (tools.length > 0) {
    body.tools = tools.map((t) => ({
      type: 'function',
      function: { name: t.name, ...(typeof t.description === 'string' ? { description: t.description } : {}), parameters: t.input_schema ?? { type: 'object', properties: {} } },
    }));
  }
  Object.assign(body, toolChoice(req.tool_choice));
  const userId = isObject(req.metadata) ? req.metadata.user_id : undefined;
  if (typeof userId === 'string' && userId) body.user = userId;
  return { body, slots };
}

type Slot = (openaiTail: (string | number)[], anthropic: (string | number)[], kind?: TextSlot['kind'], prefix?: string) => void;

function assistantMessage(message: Json, at: (string | number)[], out: Json[], slot: Slot): void {
  if (typeof message.content === 'string') {
    slot(['content'], [...at, 'content']);
    out.push({ role: 'assistant', content: message.content });
    return;
  }
  const texts: { text: string; i: number }[] = [];
  const toolCalls: Json[] = [];
  blocksOf(message.content, at).forEach((block, i) => {
    if (block.type === 'text') texts.push({ text: str(block.text), i });
    else if (block.type === 'tool_use') {
      slot(['tool_calls', toolCalls.length, 'function', 'arguments'], [...at, 'content', i, 'input'], 'json');
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
    }
  });
  if (texts.length === 1) slot(['content'], [...at, 'content', texts[0].i, 'text']);
  const result: Json = { role: 'assistant', content: texts.length > 0 ? texts.map((t) => t.text).join('') : null };
  if (toolCalls.length > 0) result.tool_calls = toolCalls;
  out.push(result);
}

function userMessage(message: Json, role: 'user' | 'system', at: (string | number)[], out: Json[], slot: Slot): void {
  if (typeof message.content === 'string') {
    slot(['content'], [...at, 'content']);
    out.push({ role, content: message.content });
    return;
  }
  const parts: { part: Json; i: number }[] = [];
  const toolImages: Json[] = [];
  blocksOf(message.content, at).forEach((block, i) => {
    if (block.type === 'tool_result') {
      const result = toolResult(block, [...at, 'content', i], slot);
      toolImages.push(...result.images);
      out.push(result.message);
      return;
    }
    const part = contentPart(block, [...at, 'content', i]);
    if (part) parts.push({ part, i });
  });
  if (toolImages.length > 0) out.push({ role: 'user', content: toolImages });
  if (parts.length === 0) return;
  if (parts.length === 1 && parts[0].part.type === 'text') {
    slot(['content'], [...at, 'content', parts[0].i, 'text']);
    out.push({ role, content: parts[0].part.text });
    return;
  }
  parts.forEach(({ part, i }, p) => {
    if (part.type === 'text') slot(['content', p, 'text'], [...at, 'content', i, 'text']);
  });
  out.push({ role, content: parts.map((p) => p.part) });
}

function toolResult(block: Json, at: (string | number)[], slot: Slot): { message: Json; images: Json[] } {
  const prefix = block.is_error === true ? TOOL_ERROR_PREFIX : '';
  const images: Json[] = [];
  let text: string;
  if (typeof block.content === 'string') {
    slot(['content'], [...at, 'content'], 'text', prefix);
    text = block.content;
  } else {
    const texts: { text: string; i: number }[] = [];
    blocksOf(block.content ?? [], at).forEach((inner, i) => {
      if (inner.type === 'text') texts.push({ text: str(inner.text), i });
      else {
        const part = contentPart(inner, [...at, 'content', i]);
        if (part) images.push(part);
      }
    });
    if (texts.length === 1) slot(['content'], [...at, 'content', texts[0].i, 'text'], 'text', prefix);
    text = texts.map((t) => t.text).join('\n');
  }
  return { message: { role: 'tool', tool_call_id: block.tool_use_id, content: prefix + text }, images };
}

function contentPart(block: Json, at: (string | number)[]): Json | undefined {
  switch (block.type) {
    case 'text':
      return { type: 'text', text: str(block.text) };
    case 'image':
      return { type: 'image_url', image_url: { url: imageUrl(block.source, at) } };
    case 'document':
      return documentPart(block.source, at);
    case 'thinking':
    case 'redacted_thinking':
      return undefined;
    default:
      throw new GatewayError(400, `${at.join('.')}: content block type "${str(block.type)}" cannot be sent to this provider`, 'unsupported_content');
  }
}

function imageUrl(source: unknown, at: (string | number)[]): string {
  if (isObject(source) && source.type === 'base64') return `data:${str(source.media_type)};base64,${str(source.data)}`;
  if (isObject(source) && source.type === 'url') return str(source.url);
  throw new GatewayError(400, `${at.join('.')}.source: images must be base64 or url sources here`, 'unsupported_content');
}

function documentPart(source: unknown, at: (string | number)[]): Json {
  if (isObject(source) && source.type === 'text') return { type: 'text', text: str(source.data) };
  if (isObject(source) && source.type === 'base64') {
    return { type: 'file', file: { file_data: `data:${str(source.media_type)};base64,${str(source.data)}`, filename: 'document.pdf' } };
  }
  throw new GatewayError(400, `${at.join('.')}.source: documents must be base64 or text sources here`, 'unsupported_content');
}

function blocksOf(content: unknown, at: (string | number)[]): Json[] {
  if (!Array.isArray(content)) throw new GatewayError(400, `${at.join('.')}.content: must be a string or a list of content blocks`, 'invalid_request');
  return content.map((b, i) => {
    if (!isObject(b)) throw new GatewayError(400, `${at.join('.')}.content.${i}: must be an object`, 'invalid_request');
    return b;
  });
}

function toolChoice(choice: unknown): Json {
  if (!isObject(choice)) return {};
  const out: Json = {};
  if (choice.type === 'auto') out.tool_choice = 'auto';
  else if (choice.type === 'any') out.tool_choice = 'required';
  else if (choice.type === 'none') out.tool_choice = 'none';
  else if (choice.type === 'tool') out.tool_choice = { type: 'function', function: { name: str(choice.name) } };
  if (choice.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
  return out;
}
