import type { ChatCompletion, Usage } from '../../runtime/relay/stage';
import { GatewayError } from '../../runtime/relay/errors';
import { int, isObject, objects, str, type Json } from '../anthropic/json';
import { openAiUsageObject } from '../anthropic/message';

/** Cohere finish_reason → OpenAI's; undefined for ERROR (the answer failed). */
export function finishReasonOf(reason: unknown): string | undefined {
  switch (reason) {
    case 'MAX_TOKENS':
    case 'ERROR_LIMIT':
      return 'length';
    case 'TOOL_CALL':
      return 'tool_calls';
    case 'ERROR_TOXIC':
      return 'content_filter';
    case 'ERROR':
      return undefined;
    default:
      return 'stop'; // COMPLETE, STOP_SEQUENCE, USER_CANCEL
  }
}

/** Cohere's chat usage: billed units (what is charged), else the raw token counts. */
export function cohereUsage(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined;
  for (const counts of [raw.billed_units, raw.tokens]) {
    if (!isObject(counts)) continue;
    const input = int(counts.input_tokens);
    const output = int(counts.output_tokens);
    if (input === undefined && output === undefined) continue;
    return { promptTokens: input ?? 0, completionTokens: output ?? 0, totalTokens: (input ?? 0) + (output ?? 0), estimated: false };
  }
  return undefined;
}

/** Usage of a chat answer (`usage`) or of an embed answer (`meta.billed_units.input_tokens`). */
export function cohereBodyUsage(json: unknown): Usage | undefined {
  if (!isObject(json)) return undefined;
  if (json.usage !== undefined) return cohereUsage(json.usage);
  const billed = isObject(json.meta) && isObject(json.meta.billed_units) ? int(json.meta.billed_units.input_tokens) : undefined;
  return billed === undefined ? undefined : { promptTokens: billed, completionTokens: 0, totalTokens: billed, estimated: false };
}

export const cohereErrorMessage = (json: unknown): string | undefined => (isObject(json) && str(json.message)) || undefined;

/** Cohere v2 chat answer → OpenAI chat completion (the tool plan and citations have no OpenAI form). */
export function cohereToCompletion(json: unknown, model: string): ChatCompletion | undefined {
  if (!isObject(json) || !isObject(json.message)) return undefined;
  const finish = finishReasonOf(json.finish_reason);
  if (!finish) throw new GatewayError(502, `provider cohere failed to complete the answer${cohereErrorMessage(json) ? `: ${cohereErrorMessage(json)}` : ''}`, 'upstream_error');
  const msg = json.message;
  const text = objects(msg.content)
    .filter((c) => c.type === 'text')
    .map((c) => str(c.text))
    .join('');
  const toolCalls = objects(msg.tool_calls).map((c) => {
    const fn = isObject(c.function) ? c.function : {};
    return { id: str(c.id), type: 'function', function: { name: str(fn.name), arguments: str(fn.arguments) || '{}' } };
  });
  const message: ChatCompletion['choices'][number]['message'] = { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text, refusal: null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const usage = cohereUsage(json.usage);
  return {
    id: `chatcmpl-${str(json.id)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finish } as ChatCompletion['choices'][number]],
    ...(usage ? { usage: openAiUsageObject(usage) } : {}),
  };
}

/** Cohere v2 embed answer → OpenAI's embeddings list (base64 when the client asked OpenAI for it). */
export function cohereToEmbeddings(json: unknown, model: string, base64: boolean): Json | undefined {
  if (!isObject(json) || !isObject(json.embeddings) || !Array.isArray(json.embeddings.float)) return undefined;
  const usage = cohereBodyUsage(json);
  return {
    object: 'list',
    data: (json.embeddings.float as number[][]).map((vector, index) => ({ object: 'embedding', index, embedding: base64 ? float32Base64(vector) : vector })),
    model,
    usage: { prompt_tokens: usage?.promptTokens ?? 0, total_tokens: usage?.promptTokens ?? 0 },
  };
}

function float32Base64(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}
