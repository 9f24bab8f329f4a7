import type { StreamEventResult, StreamFilter } from '../types';
import { openAiUsage } from './usage';

/**
 * Passes OpenAI chat-completion chunks through untouched, reading usage on the way. The gateway always asks the
 * provider for `stream_options.include_usage`; when the client did not, the extra usage-only chunk
 * (`choices: []`) is taken out so the client sees exactly what it asked for.
 */
const USAGE_NULL = /,"usage":null(?=[,}])|"usage":null,/;

export class OpenAiChatStreamFilter implements StreamFilter {
  private modelSeen = false;

  constructor(private readonly clientWantsUsage: boolean) {}

  onEvent(data: string, event: string | undefined): StreamEventResult {
    // With include_usage the provider adds "usage":null to every chunk; a client that did not ask never sees it.
    const shown = this.clientWantsUsage ? data : data.replace(USAGE_NULL, '');
    const frame = `${event ? `event: ${event}\n` : ''}data: ${shown}\n\n`;
    if (data === '[DONE]') return { forward: frame };
    // Parse only the chunks that can carry what we read: the first (model) and usage ones.
    if (this.modelSeen && !data.includes('"usage":{')) return { forward: frame };
    let chunk: { model?: unknown; usage?: unknown; choices?: unknown };
    try {
      chunk = JSON.parse(data);
    } catch {
      return { forward: frame };
    }
    const result: StreamEventResult = { forward: frame };
    // Azure's first chunk (prompt_filter_results) has an empty model: wait for the real one
    if (!this.modelSeen && typeof chunk.model === 'string' && chunk.model !== '') {
      this.modelSeen = true;
      result.model = chunk.model;
    }
    const usage = openAiUsage(chunk.usage);
    if (usage) {
      result.usage = usage;
      const usageOnly = Array.isArray(chunk.choices) && chunk.choices.length === 0;
      if (usageOnly && !this.clientWantsUsage) result.forward = null;
    }
    return result;
  }
}
