import type { ChatChunk, Usage } from '../../runtime/relay/stage';
import { int, isObject, objects, str, type Json } from '../anthropic/json';
import { openAiUsageObject } from '../anthropic/message';
import type { StreamEventResult, StreamFilter } from '../types';
import { googleError, googleErrorStatus } from './errors';
import { candidateParts, completionId, finishReasonOf, geminiUsage, promptBlocked } from './response';

interface CandidateState {
  toolCalls: number;
  finished: boolean;
}

/**
 * Gemini `streamGenerateContent?alt=sse` → OpenAI chat chunks. Each event is a whole GenerateContentResponse:
 * a candidate's first appearance → a role chunk; its text parts → content deltas (thought summaries left out); each
 * functionCall part (always complete in one event) → one tool call chunk with its index, id, name and arguments;
 * its finishReason → its finish_reason chunk. usageMetadata is cumulative: the latest replaces what came before.
 * Gemini has no end marker: the event in which every candidate has finished ends the answer (with the usage chunk
 * when the client asked for it). An `error` event or a blocked prompt → an error.
 */
export class GeminiToOpenAiStream implements StreamFilter {
  private id = '';
  private model = '';
  private readonly created = Math.floor(Date.now() / 1000);
  private usage: Usage | undefined;
  private readonly candidates = new Map<number, CandidateState>();

  constructor(
    private readonly clientWantsUsage: boolean,
    private readonly fallbackModel: string,
  ) {}

  onEvent(data: string): StreamEventResult {
    let payload: Json;
    try {
      const parsed: unknown = JSON.parse(data);
      const first = Array.isArray(parsed) ? parsed[0] : parsed;
      if (!isObject(first)) return {};
      payload = first;
    } catch {
      return {};
    }
    const error = googleError(payload);
    if (error) return { error: { status: googleErrorStatus(error), message: str(error.message) || 'provider stream error' } };
    const blocked = promptBlocked(payload);
    if (blocked) return { error: { status: blocked.status, message: blocked.message } };

    // the chunks name Gemini's modelVersion; the relay keeps the requested model, as for JSON answers (no `model`)
    const result: StreamEventResult = {};
    if (!this.id) {
      this.id = completionId(payload.responseId);
      this.model = str(payload.modelVersion) || this.fallbackModel;
    }
    this.usage = geminiUsage(payload.usageMetadata) ?? this.usage;
    if (this.usage) result.usage = this.usage;

    const chunks: ChatChunk[] = [];
    const candidates = objects(payload.candidates);
    candidates.forEach((candidate, i) => chunks.push(...this.candidateChunks(candidate, int(candidate.index) ?? i)));
    result.chunks = chunks;
    if (candidates.length > 0 && [...this.candidates.values()].every((c) => c.finished)) {
      if (this.clientWantsUsage && this.usage) chunks.push({ ...this.base(), choices: [], usage: openAiUsageObject(this.usage) });
      result.done = true;
    }
    return result;
  }

  private candidateChunks(candidate: Json, index: number): ChatChunk[] {
    const chunks: ChatChunk[] = [];
    let state = this.candidates.get(index);
    if (!state) {
      state = { toolCalls: 0, finished: false };
      this.candidates.set(index, state);
      chunks.push(this.chunk(index, { role: 'assistant', content: '' }));
    }
    const { text, toolCalls } = candidateParts(candidate.content);
    if (text !== '') chunks.push(this.chunk(index, { content: text }));
    for (const call of toolCalls) chunks.push(this.chunk(index, { tool_calls: [{ index: state.toolCalls++, ...call }] }));
    if (candidate.finishReason && !state.finished) {
      state.finished = true;
      chunks.push(this.chunk(index, {}, finishReasonOf(candidate.finishReason, state.toolCalls > 0)));
    }
    return chunks;
  }

  private base(): Json & { choices: ChatChunk['choices'] } {
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [] };
  }

  private chunk(index: number, delta: Json, finishReason: string | null = null): ChatChunk {
    return { ...this.base(), choices: [{ index, delta, logprobs: null, finish_reason: finishReason } as ChatChunk['choices'][number]] };
  }
}
