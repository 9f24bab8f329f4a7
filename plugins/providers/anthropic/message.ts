import { randomId } from '../../runtime/random-id';
import type { ChatCompletion, Usage } from '../../runtime/relay/stage';
import { openAiUsage } from '../openai/usage';
import { int, isObject, objects, parseArguments, str, type Json } from './json';

/** Anthropic stop_reason → OpenAI finish_reason. */
export function finishReasonOf(stopReason: unknown): string {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop'; // end_turn, stop_sequence, pause_turn
  }
}

/** OpenAI finish_reason → Anthropic stop_reason. */
export function stopReasonOf(finishReason: unknown): string {
  switch (finishReason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/**
 * Anthropic's usage (from a message, message_start or message_delta) normalised. Anthropic's input_tokens exclude
 * cache reads and writes; the suite's promptTokens, like OpenAI's prompt_tokens, include them.
 */
export function anthropicUsage(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined;
  const input = int(raw.input_tokens);
  const output = int(raw.output_tokens);
  if (input === undefined && output === undefined) return undefined;
  const cacheRead = int(raw.cache_read_input_tokens) ?? 0;
  const cacheWrite = int(raw.cache_creation_input_tokens) ?? 0;
  const prompt = (input ?? 0) + cacheRead + cacheWrite;
  return {
    promptTokens: prompt,
    completionTokens: output ?? 0,
    totalTokens: prompt + (output ?? 0),
    cachedTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    estimated: false,
  };
}

/** The suite's usage in OpenAI's usage object. */
export function openAiUsageObject(u: Usage): Json {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.totalTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens ?? 0 },
    ...(u.reasoningTokens !== undefined ? { completion_tokens_details: { reasoning_tokens: u.reasoningTokens } } : {}),
  };
}

/** The suite's usage in Anthropic's usage object (input_tokens without the cached parts). */
export function anthropicUsageObject(u: Usage | undefined): Json {
  const cacheRead = u?.cachedTokens ?? 0;
  const cacheWrite = u?.cacheWriteTokens ?? 0;
  return {
    input_tokens: Math.max(0, (u?.promptTokens ?? 0) - cacheRead - cacheWrite),
    output_tokens: u?.completionTokens ?? 0,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
  };
}

/** Anthropic Message (JSON answer) → OpenAI chat completion. Thinking blocks have no OpenAI form and are left out. */
export function anthropicMessageToCompletion(msg: Json): ChatCompletion {
  const texts: string[] = [];
  const toolCalls: Json[] = [];
  for (const block of objects(msg.content)) {
    if (block.type === 'text') texts.push(str(block.text));
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: str(block.id), type: 'function', function: { name: str(block.name), arguments: JSON.stringify(block.input ?? {}) } });
    }
  }
  const message: ChatCompletion['choices'][number]['message'] = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null, refusal: null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const usage = anthropicUsage(msg.usage);
  return {
    id: chatId(msg.id),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: str(msg.model),
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonOf(msg.stop_reason) } as ChatCompletion['choices'][number]],
    ...(usage ? { usage: openAiUsageObject(usage) } : {}),
  };
}

/** OpenAI chat completion → Anthropic Message. Tool-call arguments that are not a JSON object become `{}`. */
export function completionToAnthropicMessage(completion: ChatCompletion, usage: Usage | undefined, fallbackModel: string): Json {
  const choice = completion.choices[0];
  const message = choice?.message ?? {};
  const content: Json[] = [];
  if (typeof message.content === 'string' && message.content !== '') content.push({ type: 'text', text: message.content });
  for (const call of objects(message.tool_calls)) {
    const fn = isObject(call.function) ? call.function : {};
    content.push({ type: 'tool_use', id: toolUseId(call.id), name: str(fn.name), input: parseArguments(fn.arguments) ?? {} });
  }
  return {
    id: messageId(completion.id),
    type: 'message',
    role: 'assistant',
    model: str(completion.model) || fallbackModel,
    content,
    stop_reason: stopReasonOf(choice?.finish_reason),
    stop_sequence: null,
    usage: anthropicUsageObject(usage ?? openAiUsage(completion.usage)),
  };
}


/** An Anthropic message id (`msg_…`) derived from the provider's id when there is one. */
export function messageId(id: unknown): string {
  const s = str(id);
  if (s.startsWith('msg_')) return s;
  return `msg_${s.replace(/[^A-Za-z0-9]/g, '') || randomId(12)}`;
}

export function toolUseId(id: unknown): string {
  const s = str(id);
  return s.startsWith('toolu_') ? s : `toolu_${s.replace(/[^A-Za-z0-9_]/g, '') || randomId(12)}`;
}

function chatId(id: unknown): string {
  return `chatcmpl-${str(id) || randomId(12)}`;
}
