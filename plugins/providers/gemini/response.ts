import { randomId } from '../../runtime/random-id';
import { GatewayError } from '../../runtime/relay/errors';
import type { ChatCompletion, Usage } from '../../runtime/relay/stage';
import { int, isObject, objects, str, type Json } from '../anthropic/json';
import { openAiUsageObject } from '../anthropic/message';
import { toolCallId } from './tool-call-id';

/** Gemini finishReason → OpenAI finish_reason (a candidate that calls functions finishes with tool_calls). */
export function finishReasonOf(reason: unknown, calledFunctions: boolean): string {
  switch (reason) {
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
      return 'content_filter';
    default:
      return calledFunctions ? 'tool_calls' : 'stop'; // STOP, OTHER, MALFORMED_FUNCTION_CALL, LANGUAGE…
  }
}

/**
 * Gemini's usageMetadata normalised. Gemini counts thinking apart (`thoughtsTokenCount`, not in
 * `candidatesTokenCount`); OpenAI counts reasoning inside completion_tokens. So completionTokens = candidates +
 * thoughts and reasoningTokens = thoughts, which keeps promptTokens + completionTokens = Gemini's totalTokenCount.
 * Tool-use prompt tokens (`toolUsePromptTokenCount`) count as prompt; cachedContentTokenCount is part of the prompt,
 * as OpenAI's cached_tokens is.
 */
export function geminiUsage(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined;
  const prompt = int(raw.promptTokenCount);
  const candidates = int(raw.candidatesTokenCount);
  if (prompt === undefined && candidates === undefined) return undefined;
  const thoughts = int(raw.thoughtsTokenCount);
  const promptTokens = (prompt ?? 0) + (int(raw.toolUsePromptTokenCount) ?? 0);
  const completionTokens = (candidates ?? 0) + (thoughts ?? 0);
  return {
    promptTokens,
    completionTokens,
    totalTokens: int(raw.totalTokenCount) ?? promptTokens + completionTokens,
    cachedTokens: int(raw.cachedContentTokenCount),
    ...(thoughts !== undefined ? { reasoningTokens: thoughts } : {}),
    estimated: false,
  };
}

/** The client's error when Gemini refused the prompt itself (`promptFeedback.blockReason`, no candidates). */
export function promptBlocked(json: Json): GatewayError | undefined {
  const feedback = isObject(json.promptFeedback) ? json.promptFeedback : {};
  const reason = str(feedback.blockReason);
  if (!reason || objects(json.candidates).length > 0) return undefined;
  const detail = str(feedback.blockReasonMessage);
  return new GatewayError(400, `the provider blocked the prompt (blockReason ${reason})${detail ? `: ${detail}` : ''}`, 'content_filter');
}

/** A candidate's parts: answer text (thought summaries left out) and function calls as OpenAI tool calls. */
export function candidateParts(content: unknown): { text: string; toolCalls: Json[] } {
  let text = '';
  const toolCalls: Json[] = [];
  for (const part of objects(isObject(content) ? content.parts : undefined)) {
    if (part.thought === true) continue;
    if (typeof part.text === 'string') text += part.text;
    else if (isObject(part.functionCall)) {
      const call = part.functionCall;
      toolCalls.push({ id: toolCallId(part.thoughtSignature), type: 'function', function: { name: str(call.name), arguments: JSON.stringify(call.args ?? {}) } });
    }
  }
  return { text, toolCalls };
}

export const completionId = (responseId: unknown): string => `chatcmpl-${str(responseId) || randomId(12, 'hex')}`;

/** Gemini GenerateContentResponse → OpenAI chat completion, one choice per candidate. */
export function geminiResponseToCompletion(json: Json, fallbackModel: string): ChatCompletion {
  const blocked = promptBlocked(json);
  if (blocked) throw blocked;
  const choices = objects(json.candidates).map((candidate, i) => {
    const { text, toolCalls } = candidateParts(candidate.content);
    const message: ChatCompletion['choices'][number]['message'] = { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text, refusal: null };
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    return { index: int(candidate.index) ?? i, message, logprobs: null, finish_reason: finishReasonOf(candidate.finishReason, toolCalls.length > 0) } as ChatCompletion['choices'][number];
  });
  const usage = geminiUsage(json.usageMetadata);
  return {
    id: completionId(json.responseId),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: str(json.modelVersion) || fallbackModel,
    choices,
    ...(usage ? { usage: openAiUsageObject(usage) } : {}),
  };
}
