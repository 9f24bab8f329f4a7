import type { InboundApi } from '../../plugins/runtime/relay/api';
import type { ChatChunk, Exchange } from '../../plugins/runtime/relay/stage';
import { piiGuardSchema, type PiiGuardConfig } from '../../plugins/llm-pii-guard/schema';
import { testExchange } from '../support/exchange';

export function configOf(input: Record<string, unknown> = {}): PiiGuardConfig {
  return piiGuardSchema.parse(input);
}

/** A minimal exchange for driving the stage's hooks directly. */
export function exchangeFor(body: Record<string, unknown>, api: InboundApi = 'openai-chat'): Exchange {
  return testExchange(JSON.parse(JSON.stringify(body)), { api });
}

export function contentChunk(content: string, index = 0, finish: string | null = null): ChatChunk {
  return { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index, delta: { content }, finish_reason: finish }] };
}

export function toolChunk(args: string, tool = 0, extra: Record<string, unknown> = {}): ChatChunk {
  return {
    id: 'c',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta: { tool_calls: [{ index: tool, ...extra, function: { arguments: args } }] }, finish_reason: null }],
  };
}

/** The text a client assembles from chunks: content per choice and arguments per tool call. */
export function assemble(chunks: ChatChunk[]): { content: string; args: Record<number, string>; finish?: string | null; refusal?: string } {
  let content = '';
  const args: Record<number, string> = {};
  let finish: string | null | undefined;
  let refusal: string | undefined;
  for (const chunk of chunks) {
    for (const choice of chunk.choices) {
      const delta = choice.delta as Record<string, unknown>;
      if (typeof delta.content === 'string') content += delta.content;
      if (typeof delta.refusal === 'string') refusal = delta.refusal;
      for (const call of (delta.tool_calls as { index: number; function?: { arguments?: string } }[] | undefined) ?? []) {
        args[call.index] = (args[call.index] ?? '') + (call.function?.arguments ?? '');
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  return { content, args, finish, refusal };
}
