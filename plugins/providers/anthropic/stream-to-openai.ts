import type { ChatChunk, Usage } from '../../runtime/relay/stage';
import type { StreamEventResult, StreamFilter } from '../types';
import { anthropicUsage, finishReasonOf, openAiUsageObject } from './message';
import { isObject, str, type Json } from './json';
import { statusOfErrorType } from './errors';

/**
 * Anthropic Messages SSE → OpenAI chat chunks.
 * message_start → a role chunk (and the input usage); text_delta → content; tool_use block start → a tool call
 * with id and name, input_json_delta → its arguments (a tool_use without any delta gets `{}`); thinking is left out;
 * message_delta → the finish_reason chunk and the output usage (cumulative: it replaces, never adds);
 * message_stop → the usage chunk (only when the client asked for it) and the end; `error` → an error.
 */
export class AnthropicToOpenAiStream implements StreamFilter {
  private id = '';
  private model = '';
  private readonly created = Math.floor(Date.now() / 1000);
  private usage: Json = {};
  /** Anthropic block index → OpenAI tool-call index, for tool_use blocks */
  private readonly toolIndex = new Map<number, { index: number; sentArgs: boolean }>();
  private finished = false;

  constructor(private readonly clientWantsUsage: boolean) {}

  onEvent(data: string, event: string | undefined): StreamEventResult {
    let payload: Json;
    try {
      const parsed: unknown = JSON.parse(data);
      if (!isObject(parsed)) return {};
      payload = parsed;
    } catch {
      return {};
    }
    const type = str(payload.type) || event;
    switch (type) {
      case 'message_start': {
        const message = isObject(payload.message) ? payload.message : {};
        this.id = str(message.id);
        this.model = str(message.model);
        this.mergeUsage(message.usage);
        return { chunks: [this.chunk({ role: 'assistant', content: '' })], model: this.model || undefined, usage: this.currentUsage() };
      }
      case 'content_block_start':
        return { chunks: this.blockStart(payload) };
      case 'content_block_delta':
        return { chunks: this.blockDelta(payload) };
      case 'content_block_stop': {
        const tool = this.toolIndex.get(Number(payload.index));
        if (tool && !tool.sentArgs) {
          tool.sentArgs = true;
          return { chunks: [this.chunk({ tool_calls: [{ index: tool.index, function: { arguments: '{}' } }] })] };
        }
        return {};
      }
      case 'message_delta': {
        this.mergeUsage(payload.usage);
        const delta = isObject(payload.delta) ? payload.delta : {};
        const chunks = delta.stop_reason ? [this.chunk({}, finishReasonOf(delta.stop_reason))] : [];
        if (chunks.length > 0) this.finished = true;
        return { chunks, usage: this.currentUsage() };
      }
      case 'message_stop': {
        const usage = this.currentUsage();
        const chunks: ChatChunk[] = [];
        if (!this.finished) chunks.push(this.chunk({}, 'stop'));
        if (this.clientWantsUsage && usage) chunks.push({ ...this.base(), choices: [], usage: openAiUsageObject(usage) });
        return { chunks, done: true, usage };
      }
      case 'error': {
        const error = isObject(payload.error) ? payload.error : {};
        return { error: { status: statusOfErrorType(error.type), message: str(error.message) || 'provider stream error' } };
      }
      default:
        return {}; // ping and event types added later
    }
  }

  private blockStart(payload: Json): ChatChunk[] {
    const block = isObject(payload.content_block) ? payload.content_block : {};
    if (block.type === 'text' && str(block.text) !== '') return [this.chunk({ content: block.text })];
    if (block.type !== 'tool_use') return [];
    const index = this.toolIndex.size;
    this.toolIndex.set(Number(payload.index), { index, sentArgs: false });
    return [this.chunk({ tool_calls: [{ index, id: str(block.id), type: 'function', function: { name: str(block.name), arguments: '' } }] })];
  }

  private blockDelta(payload: Json): ChatChunk[] {
    const delta = isObject(payload.delta) ? payload.delta : {};
    if (delta.type === 'text_delta') return str(delta.text) === '' ? [] : [this.chunk({ content: delta.text })];
    if (delta.type !== 'input_json_delta') return [];
    const tool = this.toolIndex.get(Number(payload.index));
    const partial = str(delta.partial_json);
    if (!tool || partial === '') return [];
    tool.sentArgs = true;
    return [this.chunk({ tool_calls: [{ index: tool.index, function: { arguments: partial } }] })];
  }

  /** message_delta's usage is cumulative and may repeat input figures: later values replace earlier ones. */
  private mergeUsage(raw: unknown): void {
    if (!isObject(raw)) return;
    for (const [k, v] of Object.entries(raw)) if (typeof v === 'number') this.usage[k] = v;
  }

  private currentUsage(): Usage | undefined {
    return anthropicUsage(this.usage);
  }

  private base(): Json & { choices: ChatChunk['choices'] } {
    return { id: `chatcmpl-${this.id}`, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [] };
  }

  private chunk(delta: Json, finishReason: string | null = null): ChatChunk {
    return { ...this.base(), choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason } as ChatChunk['choices'][number]] };
  }
}
