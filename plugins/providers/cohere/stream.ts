import { isObject, str, type Json } from '../anthropic/json';
import { ChunkBuilder, jsonObject } from '../openai/chunk-builder';
import type { StreamEventResult, StreamFilter } from '../types';
import { cohereUsage, finishReasonOf } from './answer';

const path = (v: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), v);

/**
 * Cohere v2 chat SSE → OpenAI chat chunks.
 * message-start → a role chunk; content-delta → content; tool-call-start → a tool call with id and name,
 * tool-call-delta → its arguments (a call that got none gets `{}` at tool-call-end); tool-plan-delta, citations and
 * content-start/end are left out; message-end → the one finish_reason chunk, then the usage chunk only when the
 * client asked for it, and the end. A message-end with finish_reason ERROR is an error.
 */
export class CohereToOpenAiStream implements StreamFilter {
  private readonly chunks: ChunkBuilder;
  private toolCount = 0;

  constructor(
    model: string,
    private readonly clientWantsUsage: boolean,
  ) {
    this.chunks = new ChunkBuilder(model);
  }

  onEvent(data: string, event: string | undefined): StreamEventResult {
    const payload = jsonObject(data);
    if (!payload) return {};
    // Cohere numbers tool calls in `index`; without it, the latest call is meant
    const toolIndex = () => Number(payload.index ?? this.toolCount - 1);
    switch (str(payload.type) || event) {
      case 'message-start':
        this.chunks.id = str(payload.id);
        return { chunks: [this.chunks.chunk({ role: 'assistant', content: '' })], model: this.chunks.model || undefined };
      case 'content-delta': {
        const text = str(path(payload, 'delta', 'message', 'content', 'text'));
        return { chunks: text === '' ? [] : [this.chunks.chunk({ content: text })] };
      }
      case 'tool-call-start': {
        const call = path(payload, 'delta', 'message', 'tool_calls');
        const index = Number(payload.index ?? this.toolCount);
        this.toolCount += 1;
        return { chunks: [this.chunks.toolStart(index, str(path(call, 'id')), str(path(call, 'function', 'name')), str(path(call, 'function', 'arguments')))] };
      }
      case 'tool-call-delta':
        return { chunks: this.chunks.toolArguments(toolIndex(), str(path(payload, 'delta', 'message', 'tool_calls', 'function', 'arguments'))) };
      case 'tool-call-end':
        return { chunks: this.chunks.toolEnd(toolIndex()) };
      case 'message-end':
        return this.end(isObject(payload.delta) ? payload.delta : {});
      default:
        return {}; // content-start/end, tool-plan-delta, citation-start/end and event types added later
    }
  }

  private end(delta: Json): StreamEventResult {
    const usage = cohereUsage(delta.usage);
    const finish = finishReasonOf(delta.finish_reason);
    if (!finish) return { error: { status: 502, message: str(delta.error) || 'provider cohere failed to complete the answer' }, usage };
    const chunks = [this.chunks.chunk({}, finish)];
    if (this.clientWantsUsage && usage) chunks.push(this.chunks.usageChunk(usage));
    return { chunks, done: true, usage };
  }
}
