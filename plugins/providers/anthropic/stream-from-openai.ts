import type { ChatChunk, Usage } from '../../runtime/relay/stage';
import { anthropicUsageObject, messageId, stopReasonOf, toolUseId } from './message';
import { isObject, objects, str, type Json } from './json';

/** One Anthropic SSE frame. */
export function anthropicFrame(type: string, data: Json): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/**
 * OpenAI chat chunks → the Anthropic Messages event sequence: message_start (with the input tokens known so far),
 * per content block content_block_start / content_block_delta (text_delta, input_json_delta) / content_block_stop,
 * then exactly one message_delta (stop_reason, output tokens) and one message_stop. A failure ends the stream with
 * one `error` event instead, as Anthropic's API does. Every method returns the frames to write.
 */
export class OpenAiToAnthropicStream {
  private started = false;
  private ended = false;
  private open: { index: number; tool?: number } | undefined;
  private nextIndex = 0;
  private readonly toolBlocks = new Map<number, number>();
  private finishReason: string | null = null;
  private id = '';

  constructor(
    private model: string,
    private readonly inputUsage: () => Usage | undefined,
  ) {}

  /** message_start, once. Called by the first chunk, or by the end of an empty stream. */
  start(): string {
    if (this.started) return '';
    this.started = true;
    const usage = anthropicUsageObject(this.inputUsage());
    return anthropicFrame('message_start', {
      message: {
        id: messageId(this.id),
        type: 'message',
        role: 'assistant',
        model: this.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 0 },
      },
    });
  }

  chunk(chunk: ChatChunk): string {
    if (this.ended) return '';
    if (!this.started) {
      this.id = str(chunk.id).replace(/^chatcmpl-/, '');
      if (typeof chunk.model === 'string' && chunk.model) this.model = chunk.model;
    }
    let out = this.start();
    for (const choice of chunk.choices ?? []) {
      if (choice.index !== 0) continue;
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string' && delta.content !== '') out += this.text(delta.content);
      for (const call of objects(delta.tool_calls)) out += this.toolCall(call);
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
    return out;
  }

  /** The closing events; `usage` is the call's final usage (output tokens, and input tokens when now known). */
  end(usage: Usage | undefined, stopReasonOverride?: string): string {
    if (this.ended) return '';
    let out = this.start() + this.closeBlock();
    this.ended = true;
    const u = anthropicUsageObject(usage ?? this.inputUsage());
    out += anthropicFrame('message_delta', {
      delta: { stop_reason: stopReasonOverride ?? stopReasonOf(this.finishReason), stop_sequence: null },
      usage: u,
    });
    return out + anthropicFrame('message_stop', {});
  }

  /** A failure after the answer began: one `error` event, and nothing after it. */
  error(errorType: string, message: string): string {
    if (this.ended) return '';
    this.ended = true;
    return anthropicFrame('error', { error: { type: errorType, message } });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  private text(text: string): string {
    let out = '';
    if (!this.open || this.open.tool !== undefined) {
      out += this.closeBlock();
      out += this.openBlock({ type: 'text', text: '' });
    }
    return out + anthropicFrame('content_block_delta', { index: this.open!.index, delta: { type: 'text_delta', text } });
  }

  private toolCall(call: Json): string {
    const toolIndex = typeof call.index === 'number' ? call.index : 0;
    const fn = isObject(call.function) ? call.function : {};
    let out = '';
    if (!this.toolBlocks.has(toolIndex)) {
      out += this.closeBlock();
      out += this.openBlock({ type: 'tool_use', id: toolUseId(call.id), name: str(fn.name), input: {} }, toolIndex);
      this.toolBlocks.set(toolIndex, this.open!.index);
    }
    const args = str(fn.arguments);
    // arguments of a call whose block is already closed cannot be sent any more (OpenAI sends calls one by one)
    if (args === '' || this.open?.tool !== toolIndex) return out;
    return out + anthropicFrame('content_block_delta', { index: this.open.index, delta: { type: 'input_json_delta', partial_json: args } });
  }

  private openBlock(block: Json, tool?: number): string {
    this.open = { index: this.nextIndex++, tool };
    return anthropicFrame('content_block_start', { index: this.open.index, content_block: block });
  }

  private closeBlock(): string {
    if (!this.open) return '';
    const index = this.open.index;
    this.open = undefined;
    return anthropicFrame('content_block_stop', { index });
  }
}
