import type { ChatCompletion } from '../../runtime/relay/stage';
import type { StreamEventResult, StreamFilter } from '../types';
import { anthropicErrorMessage, statusOfErrorType } from './errors';
import type { TextSlot } from './inbound-request';
import { anthropicMessageToCompletion, anthropicUsage } from './message';
import { openAiRequestToAnthropic } from './outbound-request';
import { isObject, objects, parseArguments, type Json } from './json';

/** What the inbound translation leaves for pass-through: the translated body as first produced, and its slots. */
export interface PassThroughMemo {
  snapshot: string;
  slots: TextSlot[];
}

type Path = (string | number)[];

/** Top-level OpenAI fields that map one to one onto an Anthropic field. */
const SCALARS: Record<string, (out: Json, value: unknown) => void> = {
  model: (out, v) => void (out.model = v),
  max_tokens: (out, v) => void (out.max_tokens = v),
  temperature: (out, v) => void (out.temperature = v),
  top_p: (out, v) => void (out.top_p = v),
  user: (out, v) => void (out.metadata = { ...(isObject(out.metadata) ? out.metadata : {}), user_id: v }),
};

/** Anthropic request fields the OpenAI shape carries; everything else exists only in the original. */
const TRANSLATED_FIELDS = new Set(['model', 'messages', 'system', 'max_tokens', 'stop_sequences', 'temperature', 'top_p', 'tools', 'tool_choice', 'stream']);

/**
 * The Anthropic body to send for a client's Anthropic request after the stages had the OpenAI-shaped `current`:
 * - nothing changed → the original, untouched (unknown fields, thinking, cache_control, betas' fields and all);
 * - only texts the translation recorded as slots changed (a PII redaction), or simple top-level fields (model,
 *   max_tokens, temperature, top_p, user) → the original with exactly those values replaced;
 * - anything else (a stage added or removed messages or tools) → `current` translated anew, plus every top-level
 *   field of the original the translation does not produce (thinking, top_k, context_management, output_config…).
 *   cache_control inside messages and thinking blocks of earlier turns are lost in that case only.
 */
export function passThroughBody(original: Json, memo: PassThroughMemo, current: Json, model: string): Json {
  const before: unknown = JSON.parse(memo.snapshot);
  const changed: Path[] = [];
  if (!diffLeaves(before, current, [], changed)) return retranslated(original, current, model);
  if (changed.length === 0) return withModel(original, model);
  const patched = structuredClone(original);
  const slots = new Map(memo.slots.map((s) => [s.openai.join('\u0000'), s]));
  for (const path of changed) {
    const slot = slots.get(path.join('\u0000'));
    const value = valueAt(current, path);
    if (slot) {
      if (!setSlot(patched, slot, value)) return retranslated(original, current, model);
    } else if (path.length === 1 && SCALARS[path[0]]) {
      SCALARS[path[0]](patched, value);
    } else {
      return retranslated(original, current, model);
    }
  }
  return withModel(patched, model);
}

function withModel(body: Json, model: string): Json {
  return body.model === model ? body : { ...body, model };
}

function retranslated(original: Json, current: Json, model: string): Json {
  const body = openAiRequestToAnthropic(current, model);
  for (const [key, value] of Object.entries(original)) if (!TRANSLATED_FIELDS.has(key) && !(key in body)) body[key] = value;
  if (isObject(original.metadata) && isObject(body.metadata)) body.metadata = { ...original.metadata, ...body.metadata };
  return body;
}

function setSlot(target: Json, slot: TextSlot, value: unknown): boolean {
  let next: unknown;
  if (slot.kind === 'json') {
    next = parseArguments(value);
    if (next === undefined) return false;
  } else {
    if (typeof value !== 'string') return false;
    next = slot.prefix && value.startsWith(slot.prefix) ? value.slice(slot.prefix.length) : value;
  }
  const parent = valueAt(target, slot.anthropic.slice(0, -1));
  if (typeof parent !== 'object' || parent === null) return false;
  (parent as Record<string | number, unknown>)[slot.anthropic.at(-1)!] = next;
  return true;
}

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const key of path) v = typeof v === 'object' && v !== null ? (v as Record<string | number, unknown>)[key] : undefined;
  return v;
}

/** Collects the leaf paths where `a` and `b` differ; false when their structure differs (keys, lengths, types). */
function diffLeaves(a: unknown, b: unknown, path: Path, out: Path[]): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => diffLeaves(item, b[i], [...path, i], out));
  }
  if (isObject(a) || isObject(b)) {
    if (!isObject(a) || !isObject(b)) return false;
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) {
      if (!(key in a) || !(key in b)) {
        if (path.length === 0 && SCALARS[key]) out.push([key]);
        else return false;
        continue;
      }
      if (!diffLeaves(a[key], b[key], [...path, key], out)) return false;
    }
    return true;
  }
  if (a !== b) out.push(path);
  return true;
}

/** Anthropic's own events passed to an Anthropic client untouched; usage, model and errors are read on the way. */
export class AnthropicPassThroughStream implements StreamFilter {
  private usage: Json = {};

  onEvent(data: string, event: string | undefined): StreamEventResult {
    const frame = `${event ? `event: ${event}\n` : ''}data: ${data}\n\n`;
    if (event !== 'message_start' && event !== 'message_delta' && event !== 'error') return { forward: frame };
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch {
      return { forward: frame };
    }
    if (!isObject(payload)) return { forward: frame };
    if (event === 'error') {
      const type = isObject(payload.error) ? payload.error.type : undefined;
      return { forward: frame, error: { status: statusOfErrorType(type), message: anthropicErrorMessage(payload) ?? 'provider stream error' } };
    }
    const message = isObject(payload.message) ? payload.message : undefined;
    const raw = event === 'message_start' ? message?.usage : payload.usage;
    if (isObject(raw)) for (const [k, v] of Object.entries(raw)) if (typeof v === 'number') this.usage[k] = v;
    const result: StreamEventResult = { forward: frame, usage: anthropicUsage(this.usage) };
    if (typeof message?.model === 'string') result.model = message.model;
    return result;
  }
}

/**
 * A stage's edits of the OpenAI view of an Anthropic JSON answer, applied to the answer: the text blocks become one
 * text block with the edited text (where the first one was), tool_use inputs take the edited arguments. Thinking and
 * other blocks are kept. Unchanged answers are returned as they are.
 */
export function applyCompletionToMessage(message: Json, completion: ChatCompletion): Json {
  const before = anthropicMessageToCompletion(message).choices[0]?.message;
  const after = completion.choices[0]?.message;
  if (!after || !before) return message;
  const calls = objects(after.tool_calls);
  const textChanged = before.content !== after.content;
  const argsChanged = JSON.stringify(objects(before.tool_calls)) !== JSON.stringify(calls);
  if (!textChanged && !argsChanged) return message;
  const content: Json[] = [];
  let textPlaced = false;
  let toolIndex = 0;
  for (const block of objects(message.content)) {
    if (block.type === 'text') {
      if (!textPlaced && typeof after.content === 'string' && after.content !== '') content.push({ ...block, text: after.content });
      textPlaced = true;
    } else if (block.type === 'tool_use') {
      const call = calls[toolIndex++];
      const fn = call && isObject(call.function) ? call.function : undefined;
      content.push(fn ? { ...block, input: parseArguments(fn.arguments) ?? block.input } : block);
    } else content.push(block);
  }
  return { ...message, content };
}
