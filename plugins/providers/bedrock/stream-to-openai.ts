import type { ChatChunk } from '../../runtime/relay/stage';
import { isObject, str, type Json } from '../anthropic/json';
import { openAiUsageObject } from '../anthropic/message';
import type { StreamEventResult, StreamFilter } from '../types';
import { bedrockUsage, completionId, finishReasonOf } from './converse-answer';
import { statusOfException } from './errors';
import { END_EVENT, EXCEPTION_EVENT } from './eventstream';

/**
 * ConverseStream events (decoded by ./eventstream.ts) → OpenAI chat chunks.
 * messageStart → the role chunk (also sent first if the provider skipped it); contentBlockDelta text → content;
 * contentBlockStart with toolUse → a tool call with id and name, toolUse.input deltas → its arguments (none at all →
 * `{}`); reasoning deltas are left out; messageStop → the one finish_reason chunk; metadata (which follows
 * messageStop) → the usage, the usage chunk when the client asked for it, and the end. A stream without metadata
 * ends with the body (END_EVENT) and the relay estimates its usage; a body that ends before messageStop was cut:
 * an error. Exceptions → an error.
 */
export class ConverseToOpenAiStream implements StreamFilter {
  private readonly id = completionId();
  private readonly created = Math.floor(Date.now() / 1000);
  private started = false;
  private finished = false;
  /** Converse content block index → OpenAI tool-call index */
  private readonly tools = new Map<number, { index: number; sentArgs: boolean }>();

  constructor(
    private readonly clientWantsUsage: boolean,
    private readonly model: string,
  ) {}

  onEvent(data: string, event: string | undefined): StreamEventResult {
    const payload = jsonObject(data);
    if (!payload) return {};
    switch (event) {
      case 'messageStart':
        return { chunks: this.begin(), model: this.model || undefined };
      case 'contentBlockStart':
        return { chunks: [...this.begin(), ...this.blockStart(payload)] };
      case 'contentBlockDelta':
        return { chunks: [...this.begin(), ...this.blockDelta(payload)] };
      case 'contentBlockStop': {
        const tool = this.tools.get(Number(payload.contentBlockIndex));
        if (!tool || tool.sentArgs) return {};
        tool.sentArgs = true;
        return { chunks: [this.chunk({ tool_calls: [{ index: tool.index, function: { arguments: '{}' } }] })] };
      }
      case 'messageStop':
        return { chunks: [...this.begin(), ...this.finish(finishReasonOf(payload.stopReason))] };
      case 'metadata': {
        const usage = bedrockUsage(payload.usage);
        const chunks = [...this.begin(), ...this.finish('stop')];
        if (this.clientWantsUsage && usage) chunks.push({ ...this.base(), choices: [], usage: openAiUsageObject(usage) });
        return { chunks, done: true, ...(usage ? { usage } : {}) };
      }
      case END_EVENT:
        if (!this.finished) return { error: { status: 502, message: 'provider bedrock ended the stream before messageStop' } };
        return { chunks: [], done: true }; // chunks: a translated stream, so that the relay closes it itself
      case EXCEPTION_EVENT: {
        const type = str(payload.type);
        return { error: { status: statusOfException(type), message: `${type}: ${str(payload.message) || 'provider stream error'}` } };
      }
      default:
        return {}; // event types added later
    }
  }

  private begin(): ChatChunk[] {
    if (this.started) return [];
    this.started = true;
    return [this.chunk({ role: 'assistant', content: '' })];
  }

  private finish(reason: string): ChatChunk[] {
    if (this.finished) return [];
    this.finished = true;
    return [this.chunk({}, reason)];
  }

  private blockStart(payload: Json): ChatChunk[] {
    const start = isObject(payload.start) ? payload.start : {};
    if (!isObject(start.toolUse)) return [];
    const index = this.tools.size;
    this.tools.set(Number(payload.contentBlockIndex), { index, sentArgs: false });
    return [this.chunk({ tool_calls: [{ index, id: str(start.toolUse.toolUseId), type: 'function', function: { name: str(start.toolUse.name), arguments: '' } }] })];
  }

  private blockDelta(payload: Json): ChatChunk[] {
    const delta = isObject(payload.delta) ? payload.delta : {};
    if (typeof delta.text === 'string') return delta.text === '' ? [] : [this.chunk({ content: delta.text })];
    if (!isObject(delta.toolUse)) return [];
    const tool = this.tools.get(Number(payload.contentBlockIndex));
    const partial = str(delta.toolUse.input);
    if (!tool || partial === '') return [];
    tool.sentArgs = true;
    return [this.chunk({ tool_calls: [{ index: tool.index, function: { arguments: partial } }] })];
  }

  private base(): Json & { choices: ChatChunk['choices'] } {
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [] };
  }

  private chunk(delta: Json, finishReason: string | null = null): ChatChunk {
    return { ...this.base(), choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason } as ChatChunk['choices'][number]] };
  }
}

function jsonObject(data: string): Json | undefined {
  try {
    const parsed: unknown = JSON.parse(data);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
