import { randomId } from '../../../runtime/random-id';
import type { ChatCompletion, Usage } from '../../../runtime/relay/stage';
import { isObject, objects, str, type Json } from '../../anthropic/json';
import { openAiUsage } from '../usage';

/**
 * OpenAI chat completion → OpenAI Responses `Response` object, with the request's settings echoed as OpenAI's API
 * does (the SDKs read them back). `store` is always false: the gateway keeps nothing.
 */
export function completionToResponse(completion: ChatCompletion, usage: Usage | undefined, fallbackModel: string, request: Json): Json {
  const choice = completion.choices[0];
  const message = choice?.message ?? {};
  const { status, incomplete } = statusOf(choice?.finish_reason);
  const output: Json[] = [];
  const content: Json[] = [];
  if (typeof message.content === 'string' && message.content !== '') content.push(outputText(message.content));
  if (typeof message.refusal === 'string' && message.refusal !== '') content.push({ type: 'refusal', refusal: message.refusal });
  const toolCalls = objects(message.tool_calls);
  if (content.length > 0 || toolCalls.length === 0) {
    if (content.length === 0) content.push(outputText(''));
    output.push({ type: 'message', id: prefixedId('msg_', completion.id), status, role: 'assistant', content });
  }
  for (const call of toolCalls) {
    const fn = isObject(call.function) ? call.function : {};
    output.push(functionCallItem(call.id, str(fn.name), str(fn.arguments), 'completed'));
  }
  const known = usage ?? openAiUsage(completion.usage);
  return {
    ...responseEnvelope(request, {
      id: prefixedId('resp_', completion.id),
      model: str(completion.model) || fallbackModel,
      createdAt: typeof completion.created === 'number' ? completion.created : Math.floor(Date.now() / 1000),
    }),
    status,
    completed_at: Math.floor(Date.now() / 1000),
    incomplete_details: incomplete,
    output,
    ...(known ? { usage: responsesUsage(known) } : {}),
  };
}

/** The Response object's fields that do not depend on the answer (status in_progress, no output yet). */
export function responseEnvelope(request: Json, at: { id: string; model: string; createdAt: number }): Json {
  const reasoning = isObject(request.reasoning) ? request.reasoning : {};
  return {
    id: at.id,
    object: 'response',
    created_at: at.createdAt,
    status: 'in_progress',
    background: false,
    completed_at: null,
    error: null,
    incomplete_details: null,
    instructions: typeof request.instructions === 'string' ? request.instructions : null,
    max_output_tokens: typeof request.max_output_tokens === 'number' ? request.max_output_tokens : null,
    model: at.model,
    output: [],
    parallel_tool_calls: request.parallel_tool_calls !== false,
    previous_response_id: null,
    reasoning: { effort: typeof reasoning.effort === 'string' ? reasoning.effort : null, summary: null },
    store: false,
    temperature: typeof request.temperature === 'number' ? request.temperature : 1,
    text: isObject(request.text) && isObject(request.text.format) ? request.text : { format: { type: 'text' } },
    tool_choice: request.tool_choice ?? 'auto',
    tools: Array.isArray(request.tools) ? request.tools : [],
    top_p: typeof request.top_p === 'number' ? request.top_p : 1,
    truncation: 'disabled',
    usage: null,
    user: typeof request.user === 'string' ? request.user : null,
    metadata: isObject(request.metadata) ? request.metadata : {},
  };
}

/** The suite's usage in the Responses usage object. */
export function responsesUsage(u: Usage): Json {
  return {
    input_tokens: u.promptTokens,
    input_tokens_details: { cached_tokens: u.cachedTokens ?? 0 },
    output_tokens: u.completionTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens ?? 0 },
    total_tokens: u.totalTokens,
  };
}

/** Chat finish_reason → the Response's status; a cut answer is `incomplete`, with OpenAI's reason. */
export function statusOf(finishReason: unknown): { status: 'completed' | 'incomplete'; incomplete: Json | null } {
  if (finishReason === 'length') return { status: 'incomplete', incomplete: { reason: 'max_output_tokens' } };
  if (finishReason === 'content_filter') return { status: 'incomplete', incomplete: { reason: 'content_filter' } };
  return { status: 'completed', incomplete: null };
}

export const outputText = (text: string): Json => ({ type: 'output_text', text, annotations: [] });

export function functionCallItem(callId: unknown, name: string, args: string, status: string): Json {
  const call = str(callId) || `call_${randomId(12, 'hex')}`;
  return { type: 'function_call', id: prefixedId('fc_', call), call_id: call, name, arguments: args, status };
}


/** An id with OpenAI's prefix for its kind (`resp_`, `msg_`, `fc_`), derived from the provider's id when it has one. */
export function prefixedId(prefix: string, id: unknown): string {
  const s = str(id);
  if (s.startsWith(prefix)) return s;
  return `${prefix}${s.replace(/^(chatcmpl-|call_)/, '').replace(/[^A-Za-z0-9_]/g, '') || randomId(12, 'hex')}`;
}
