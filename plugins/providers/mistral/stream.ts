import type { ChatChunk } from '../../runtime/relay/stage';
import { isObject, str } from '../anthropic/json';
import { openAiUsage } from '../openai/usage';
import type { StreamEventResult, StreamFilter } from '../types';

/**
 * Mistral's chunks are OpenAI's, except that the last one (with finish_reason) always carries `usage`. That usage
 * is reported to the relay, taken out of the chunk, and sent as OpenAI's separate usage chunk (`choices: []`) only
 * when the client asked for it. A `{"object":"error"}` event is an error.
 */
export class MistralStreamFilter implements StreamFilter {
  private modelSeen = false;

  constructor(private readonly clientWantsUsage: boolean) {}

  onEvent(data: string): StreamEventResult {
    if (data === '[DONE]') return { chunks: [], done: true };
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return {};
    }
    if (!isObject(chunk)) return {};
    if (chunk.object === 'error' || isObject(chunk.error)) {
      return { error: { status: 502, message: mistralErrorMessage(chunk) ?? 'provider mistral reported a stream error' } };
    }
    const result: StreamEventResult = { chunks: [] };
    if (!this.modelSeen && str(chunk.model)) {
      this.modelSeen = true;
      result.model = str(chunk.model);
    }
    const usage = openAiUsage(chunk.usage);
    const { usage: raw, ...rest } = chunk;
    if (Array.isArray(rest.choices) && rest.choices.length > 0) result.chunks!.push(rest as ChatChunk);
    if (usage) {
      result.usage = usage;
      if (this.clientWantsUsage) result.chunks!.push({ ...rest, choices: [], usage: raw } as ChatChunk);
    }
    return result;
  }
}

/**
 * Mistral's error bodies: `{"object":"error","message":"…"}`, a validation error whose `message` is
 * `{"detail":[{"loc","msg"}]}`, a bare `{"message":"Unauthorized"}`, or OpenAI's envelope.
 */
export function mistralErrorMessage(json: unknown): string | undefined {
  if (!isObject(json)) return undefined;
  const message = json.message ?? json.detail;
  if (typeof message === 'string') return message;
  const detail = isObject(message) ? message.detail : message;
  if (Array.isArray(detail)) {
    const parts = detail.filter(isObject).map((d) => `${Array.isArray(d.loc) ? d.loc.join('.') : ''}: ${str(d.msg)}`);
    if (parts.length > 0) return parts.join('; ');
  }
  const error = isObject(json.error) ? str(json.error.message) : '';
  return error || undefined;
}
