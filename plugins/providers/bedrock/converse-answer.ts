import { randomId } from '../../runtime/random-id';
import type { ChatCompletion, Usage } from '../../runtime/relay/stage';
import { isObject, objects, str, type Json } from '../anthropic/json';
import { anthropicUsage, finishReasonOf as anthropicFinishReason, openAiUsageObject } from '../anthropic/message';

/** Converse stopReason → OpenAI finish_reason: Anthropic's stop reasons, plus Bedrock's own content filters. */
export function finishReasonOf(stopReason: unknown): string {
  return stopReason === 'guardrail_intervened' || stopReason === 'content_filtered' ? 'content_filter' : anthropicFinishReason(stopReason);
}

/**
 * Converse's usage (answer or stream metadata) normalised. Like Anthropic's, inputTokens excludes cache reads and
 * writes (the suite's promptTokens includes them), so it is read the same way under Converse's field names.
 */
export function bedrockUsage(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined;
  return anthropicUsage({
    input_tokens: raw.inputTokens,
    output_tokens: raw.outputTokens,
    cache_read_input_tokens: raw.cacheReadInputTokens,
    cache_creation_input_tokens: raw.cacheWriteInputTokens,
  });
}

export const completionId = (): string => `chatcmpl-bedrock-${randomId(12)}`;

/**
 * Converse answer → OpenAI chat completion: text blocks joined, toolUse blocks → tool_calls (input as a JSON string);
 * reasoning and other blocks have no OpenAI form and are left out. Converse answers name no model and no id.
 */
export function converseToCompletion(json: Json, model = ''): ChatCompletion {
  const output = isObject(json.output) ? json.output : {};
  const content = isObject(output.message) ? objects(output.message.content) : [];
  const texts: string[] = [];
  const toolCalls: Json[] = [];
  for (const block of content) {
    if (typeof block.text === 'string') texts.push(block.text);
    else if (isObject(block.toolUse)) {
      const use = block.toolUse;
      toolCalls.push({ id: str(use.toolUseId), type: 'function', function: { name: str(use.name), arguments: JSON.stringify(use.input ?? {}) } });
    }
  }
  const message: ChatCompletion['choices'][number]['message'] = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null, refusal: null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const usage = bedrockUsage(json.usage);
  return {
    id: completionId(),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonOf(json.stopReason) } as ChatCompletion['choices'][number]],
    ...(usage ? { usage: openAiUsageObject(usage) } : {}),
  };
}
