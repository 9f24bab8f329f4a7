import type { ChatChunk, Usage } from '../../runtime/relay/stage';
import { isObject, type Json } from '../anthropic/json';
import { openAiUsageObject } from '../anthropic/message';

/** A streamed event's JSON object, or undefined when it is not one (malformed events are skipped). */
export function jsonObject(data: string): Json | undefined {
  try {
    const parsed: unknown = JSON.parse(data);
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Builds the OpenAI chat chunks of a stream translated from another provider: one id, model and creation time for
 * all chunks, and the provider's tool-call (or block) indexes mapped to OpenAI's 0, 1, … with the `{}` arguments a
 * call that streamed none must still get.
 */
export class ChunkBuilder {
  id = '';
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly tools = new Map<number, { index: number; sentArgs: boolean }>();

  constructor(readonly model: string) {}

  chunk(delta: Json, finishReason: string | null = null): ChatChunk {
    return { ...this.base(), choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason } as ChatChunk['choices'][number]] };
  }

  /** OpenAI's usage-only chunk (`choices: []`). */
  usageChunk(usage: Usage): ChatChunk {
    return { ...this.base(), choices: [], usage: openAiUsageObject(usage) };
  }

  toolStart(providerIndex: number, id: string, name: string, args = ''): ChatChunk {
    const index = this.tools.size;
    this.tools.set(providerIndex, { index, sentArgs: args !== '' });
    return this.chunk({ tool_calls: [{ index, id, type: 'function', function: { name, arguments: args } }] });
  }

  toolArguments(providerIndex: number, args: string): ChatChunk[] {
    const tool = this.tools.get(providerIndex);
    if (!tool || args === '') return [];
    tool.sentArgs = true;
    return [this.chunk({ tool_calls: [{ index: tool.index, function: { arguments: args } }] })];
  }

  toolEnd(providerIndex: number): ChatChunk[] {
    const tool = this.tools.get(providerIndex);
    return tool && !tool.sentArgs ? this.toolArguments(providerIndex, '{}') : [];
  }

  private base(): Json & { choices: ChatChunk['choices'] } {
    return { id: `chatcmpl-${this.id}`, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [] };
  }
}
