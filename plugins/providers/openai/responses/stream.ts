import type { ChatChunk, Usage } from '../../../runtime/relay/stage';
import { isObject, objects, str, type Json } from '../../anthropic/json';
import { functionCallItem, outputText, prefixedId, responseEnvelope, responsesUsage, statusOf } from './response';

/** The open output items of the streamed Response: a message being written, a function call (`tool`: its chat index). */
interface OpenMessage {
  index: number;
  id: string;
  text: string;
  /** the model's refusal (a refusal part) rather than its answer (an output_text part) */
  refusal: boolean;
}
interface OpenCall {
  index: number;
  tool: number;
  item: Json;
}

/**
 * OpenAI chat chunks → the Responses streaming event sequence: response.created and response.in_progress; per output
 * item output_item.added, then for a message content_part.added, output_text.delta…, output_text.done (for a
 * refusal: refusal.delta…, refusal.done), content_part.done, and for a function call function_call_arguments.delta…,
 * function_call_arguments.done; then output_item.done; finally one response.completed (or response.incomplete when
 * the answer was cut) carrying the whole Response with its usage. A failure ends the stream with one response.failed instead. Every event has its
 * `type` and a `sequence_number`; every method returns the SSE frames to write.
 */
export class ChatToResponsesStream {
  private sequence = 0;
  private started = false;
  private ended = false;
  private id = '';
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private readonly output: Json[] = [];
  private message: OpenMessage | undefined;
  private call: OpenCall | undefined;
  private readonly seenTools = new Set<number>();
  private finishReason: string | null = null;

  constructor(
    private model: string,
    private readonly request: Json,
  ) {}

  chunk(chunk: ChatChunk): string {
    if (this.ended) return '';
    if (!this.started) {
      this.id = str(chunk.id);
      if (typeof chunk.model === 'string' && chunk.model) this.model = chunk.model;
    }
    let out = this.start();
    for (const choice of chunk.choices ?? []) {
      if (choice.index !== 0) continue;
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string' && delta.content !== '') out += this.text(delta.content, false);
      if (typeof delta.refusal === 'string' && delta.refusal !== '') out += this.text(delta.refusal, true);
      for (const call of objects(delta.tool_calls)) out += this.toolCall(call);
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
    return out;
  }

  /** Closes the open items and sends the final Response with `usage`. */
  end(usage: Usage | undefined): string {
    if (this.ended) return '';
    let out = this.start() + this.closeMessage() + this.closeCall();
    this.ended = true;
    const { status, incomplete } = statusOf(this.finishReason);
    const response = { ...this.envelope(), status, completed_at: Math.floor(Date.now() / 1000), incomplete_details: incomplete, output: this.output, usage: usage ? responsesUsage(usage) : null };
    out += this.event(status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
    return out;
  }

  /** A failure after the answer began: one response.failed with the error, and nothing after it. */
  error(status: number, message: string): string {
    if (this.ended) return '';
    const out = this.start();
    this.ended = true;
    const error = { code: status === 429 ? 'rate_limit_exceeded' : 'server_error', message };
    return out + this.event('response.failed', { response: { ...this.envelope(), status: 'failed', error, output: this.output } });
  }

  private start(): string {
    if (this.started) return '';
    this.started = true;
    const response = this.envelope();
    return this.event('response.created', { response }) + this.event('response.in_progress', { response });
  }

  private envelope(): Json {
    return responseEnvelope(this.request, { id: prefixedId('resp_', this.id), model: this.model, createdAt: this.createdAt });
  }

  /** Answer text or refusal text; each goes in a message item of its own. */
  private text(text: string, refusal: boolean): string {
    let out = '';
    if (this.message?.refusal !== refusal) {
      out += this.closeMessage() + this.closeCall();
      this.message = { index: this.output.length, id: prefixedId('msg_', this.id && `${this.id}_${this.output.length}`), text: '', refusal };
      this.output.push({ type: 'message', id: this.message.id, status: 'in_progress', role: 'assistant', content: [] });
      out += this.event('response.output_item.added', { output_index: this.message.index, item: this.output[this.message.index] });
      out += this.event('response.content_part.added', { ...this.messageRef(), part: contentPart(this.message) });
    }
    const m = this.message!;
    m.text += text;
    if (refusal) return out + this.event('response.refusal.delta', { item_id: m.id, output_index: m.index, content_index: 0, delta: text });
    return out + this.event('response.output_text.delta', { item_id: m.id, output_index: m.index, content_index: 0, delta: text, logprobs: [] });
  }

  private toolCall(call: Json): string {
    const tool = typeof call.index === 'number' ? call.index : 0;
    const fn = isObject(call.function) ? call.function : {};
    let out = '';
    if (!this.seenTools.has(tool)) {
      this.seenTools.add(tool);
      out += this.closeMessage() + this.closeCall();
      const item = functionCallItem(call.id, str(fn.name), '', 'in_progress');
      this.call = { index: this.output.length, tool, item };
      this.output.push(item);
      out += this.event('response.output_item.added', { output_index: this.call.index, item: { ...item } });
    }
    const args = str(fn.arguments);
    // arguments of a call that is already closed cannot be sent any more (chat streams calls one after another)
    if (args === '' || this.call?.tool !== tool) return out;
    this.call.item.arguments = str(this.call.item.arguments) + args;
    return out + this.event('response.function_call_arguments.delta', { item_id: this.call.item.id, output_index: this.call.index, delta: args });
  }

  private closeMessage(): string {
    const m = this.message;
    if (!m) return '';
    this.message = undefined;
    const { status } = statusOf(this.finishReason);
    const part = contentPart(m);
    const item = { type: 'message', id: m.id, status, role: 'assistant', content: [part] };
    this.output[m.index] = item;
    const ref = { item_id: m.id, output_index: m.index, content_index: 0 };
    return (
      (m.refusal ? this.event('response.refusal.done', { ...ref, refusal: m.text }) : this.event('response.output_text.done', { ...ref, text: m.text, logprobs: [] })) +
      this.event('response.content_part.done', { ...ref, part }) +
      this.event('response.output_item.done', { output_index: m.index, item })
    );
  }

  private closeCall(): string {
    const c = this.call;
    if (!c) return '';
    this.call = undefined;
    c.item.status = 'completed';
    const done = { item_id: c.item.id, output_index: c.index, name: c.item.name, arguments: c.item.arguments };
    return this.event('response.function_call_arguments.done', done) + this.event('response.output_item.done', { output_index: c.index, item: c.item });
  }

  private messageRef(): Json {
    return { item_id: this.message!.id, output_index: this.message!.index, content_index: 0 };
  }

  /** One SSE frame; `data` is a fresh object (it gets the sequence number), `type` goes first as OpenAI sends it. */
  private event(type: string, data: Json): string {
    data.sequence_number = this.sequence++;
    return `event: ${type}\ndata: {"type":"${type}",${JSON.stringify(data).slice(1)}\n\n`;
  }
}

const contentPart = (m: OpenMessage): Json => (m.refusal ? { type: 'refusal', refusal: m.text } : outputText(m.text));
