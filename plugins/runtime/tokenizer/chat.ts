import {
  computeChatCompletionTokenCount,
  FUNCTION_CALL_METADATA_TOKEN_OVERHEAD,
  type ChatCompletionFunctionCallOption,
  type ChatCompletionFunctionDefinition,
  type ChatMessage,
} from 'gpt-tokenizer/cjs/functionCalling';
import { familyOf } from './families';
import { approximateCount, countWithEncoding } from './text';

/**
 * Fixed costs of non-text prompt parts, whose real cost depends on data we do not decode (image size, audio length).
 * Images: OpenAI's own figures for GPT-4o-class models: 85 tokens at `detail: low`, 765 for a 1024×1024 image at
 * high/auto detail (85 + 4 tiles × 170). Audio and file parts: a flat allowance; the provider's usage settles it.
 */
export const IMAGE_LOW_DETAIL_TOKENS = 85;
export const IMAGE_TOKENS = 765;
export const AUDIO_OR_FILE_PART_TOKENS = 1_000;

export interface PromptEstimate {
  tokens: number;
  /** true when the count is the reference tokenizer's (OpenAI model, text and tools only) */
  exact: boolean;
  family: string;
}

type Count = (text: string) => number;

/**
 * Prompt tokens of an OpenAI chat request (or embeddings request: `input`) for `model`, counted the way OpenAI
 * bills them: per message 3 tokens + role + content + name (+1), tool definitions in OpenAI's hidden TypeScript
 * rendering, tool calls in history as name + arguments + 3, and 3 tokens priming the reply (gpt-tokenizer's
 * `computeChatCompletionTokenCount`, fed with the request's own parts).
 */
export function estimatePromptTokens(body: Record<string, unknown>, model: string): PromptEstimate {
  const info = familyOf(model);
  const count: Count = info.encoding
    ? (text) => countWithEncoding(text, info.encoding!)
    : (text) => approximateCount(text, info.approximation!);
  const parts = { fixed: 0 };
  let tokens: number;
  if (Array.isArray(body.messages)) {
    const messages = body.messages.filter(isObject).map((m) => chatMessage(m, count, parts));
    tokens = computeChatCompletionTokenCount(
      { messages, functions: functionDefinitions(body), function_call: functionCallOption(body) },
      count,
    );
  } else {
    tokens = inputTokens(body.input, count);
  }
  return { tokens: tokens + parts.fixed, exact: info.family === 'openai' && parts.fixed === 0, family: info.family };
}

/** The completion a request may produce: max_completion_tokens ?? max_tokens ?? the configured default. */
export function expectedCompletionTokens(body: Record<string, unknown> | undefined, defaultMax: number): number {
  for (const field of ['max_completion_tokens', 'max_tokens'] as const) {
    const v = body?.[field];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  }
  return defaultMax;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The message as gpt-tokenizer counts it; costs its shape cannot express go to `parts.fixed`. */
function chatMessage(m: Record<string, unknown>, count: Count, parts: { fixed: number }): ChatMessage {
  const message: ChatMessage = { role: str(m.role) || 'user', content: contentText(m.content, parts) };
  if (typeof m.name === 'string' && m.name) message.name = m.name;
  if (isObject(m.function_call)) message.function_call = { name: str(m.function_call.name), arguments: str(m.function_call.arguments) };
  if (Array.isArray(m.tool_calls)) {
    for (const call of m.tool_calls) {
      const fn = isObject(call) && isObject(call.function) ? call.function : {};
      parts.fixed += count(str(fn.name)) + count(str(fn.arguments)) + FUNCTION_CALL_METADATA_TOKEN_OVERHEAD;
    }
  }
  return message;
}

function contentText(content: unknown, parts: { fixed: number }): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const texts: string[] = [];
  for (const part of content) {
    if (!isObject(part)) continue;
    if (typeof part.text === 'string') texts.push(part.text);
    else if (typeof part.refusal === 'string') texts.push(part.refusal);
    else if (part.type === 'image_url') parts.fixed += imageTokens(part.image_url);
    else if (part.type === 'input_audio' || part.type === 'file') parts.fixed += AUDIO_OR_FILE_PART_TOKENS;
  }
  return texts.join('');
}

function imageTokens(image: unknown): number {
  return isObject(image) && image.detail === 'low' ? IMAGE_LOW_DETAIL_TOKENS : IMAGE_TOKENS;
}

/** `tools` (current API) and `functions` (legacy) as the function definitions OpenAI renders into the prompt. */
function functionDefinitions(body: Record<string, unknown>): ChatCompletionFunctionDefinition[] | undefined {
  const defs: ChatCompletionFunctionDefinition[] = [];
  const add = (fn: unknown) => {
    if (isObject(fn) && typeof fn.name === 'string') defs.push(fn as unknown as ChatCompletionFunctionDefinition);
  };
  if (Array.isArray(body.tools)) for (const tool of body.tools) if (isObject(tool)) add(tool.function);
  if (Array.isArray(body.functions)) body.functions.forEach(add);
  return defs.length > 0 ? defs : undefined;
}

function functionCallOption(body: Record<string, unknown>): ChatCompletionFunctionCallOption | undefined {
  const choice = body.tool_choice ?? body.function_call;
  if (choice === 'none' || choice === 'auto') return choice;
  if (isObject(choice)) {
    const name = isObject(choice.function) ? choice.function.name : choice.name;
    if (typeof name === 'string') return { name };
  }
  return undefined;
}

/** Embeddings input: a string, strings, a token array or token arrays. */
function inputTokens(input: unknown, count: Count): number {
  if (typeof input === 'string') return count(input);
  if (!Array.isArray(input)) return 0;
  let total = 0;
  for (const item of input) {
    if (typeof item === 'string') total += count(item);
    else if (typeof item === 'number') total += 1;
    else if (Array.isArray(item)) total += item.length;
  }
  return total;
}
