import { gzipSync } from 'node:zlib';
import { countWords, deterministicAnswer } from './deterministic';
import type { MockReply } from './mock-server';

/**
 * The parts the OpenAI-wire mocks of other providers share (Azure OpenAI, Mistral): what a chat request is answered
 * with (text per ./deterministic.ts, a tool call, JSON mode) and that answer as a completion or as chunks.
 * - a configured `tool` offered in `tools` is called unless the last message is a tool result; its arguments are
 *   streamed in 3 pieces; completion tokens = ceil(arguments length / 4).
 * - with `response_format` json_object/json_schema the answer is `{"echo":"<last user text>"}`.
 * - prompt tokens: words of every message's text (string content or text parts).
 */
export interface WireMessage {
  role: string;
  content?: unknown;
}
export interface WireChatRequest {
  model: string;
  messages: WireMessage[];
  tools?: { function: { name: string } }[] | null;
  response_format?: { type: string } | null;
}
export interface MockTool {
  name: string;
  arguments: string;
}

export interface WireAnswer {
  text: string;
  finishReason: string;
  toolCall?: { id: string; name: string; arguments: string };
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p: { text?: unknown }) => (typeof p?.text === 'string' ? p.text : '')).join(' ');
}

export function wireAnswer(body: WireChatRequest, opts: { reply?: string; tool?: MockTool; toolCallId: string; maxTokens?: number | null }): WireAnswer {
  const prompt = countWords(body.messages.map((m) => messageText(m.content)).join(' '));
  const last = body.messages.at(-1);
  const tool = opts.tool && last?.role !== 'tool' && body.tools?.some((t) => t.function.name === opts.tool!.name) ? opts.tool : undefined;
  const lastUser = messageText([...body.messages].reverse().find((m) => m.role === 'user')?.content);
  if (tool) {
    const completion = Math.ceil(tool.arguments.length / 4);
    return { text: '', finishReason: 'tool_calls', toolCall: { id: opts.toolCallId, ...tool }, usage: usage(prompt, completion) };
  }
  if (body.response_format && body.response_format.type !== 'text') {
    const text = JSON.stringify({ echo: lastUser });
    return { text, finishReason: 'stop', usage: usage(prompt, countWords(text)) };
  }
  const { words, stopReason } = deterministicAnswer({ lastUserText: last?.role === 'tool' ? messageText(last.content) : lastUser, reply: opts.reply, maxTokens: opts.maxTokens });
  return { text: words.join(' '), finishReason: stopReason, usage: usage(prompt, words.length) };
}

const usage = (prompt: number, completion: number) => ({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion });

export function wireMessage(answer: WireAnswer): Record<string, unknown> {
  if (!answer.toolCall) return { role: 'assistant', content: answer.text };
  const { id, name, arguments: args } = answer.toolCall;
  return { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name, arguments: args } }] };
}

/** The deltas of a streamed answer, first (role) to last (finish_reason), without usage. */
export function wireDeltas(answer: WireAnswer): { delta: Record<string, unknown>; finish: string | null }[] {
  const out: { delta: Record<string, unknown>; finish: string | null }[] = [{ delta: { role: 'assistant', content: '' }, finish: null }];
  if (answer.toolCall) {
    const { id, name, arguments: args } = answer.toolCall;
    out.push({ delta: { tool_calls: [{ index: 0, id, type: 'function', function: { name, arguments: '' } }] }, finish: null });
    const third = Math.max(1, Math.ceil(args.length / 3));
    for (let at = 0; at < args.length; at += third) out.push({ delta: { tool_calls: [{ index: 0, function: { arguments: args.slice(at, at + third) } }] }, finish: null });
  } else {
    answer.text.split(' ').forEach((word, i) => out.push({ delta: { content: i === 0 ? word : ` ${word}` }, finish: null }));
  }
  out.push({ delta: {}, finish: answer.finishReason });
  return out;
}

export const sseFrames = (events: unknown[]): string[] => [...events.map((e) => `data: ${JSON.stringify(e)}\n\n`), 'data: [DONE]\n\n'];

/**
 * A gzip-encoded answer (`content-encoding: gzip`), as some providers and proxies send even unasked: JSON in one
 * piece, a stream as its compressed bytes cut into 3 writes (so that decompression must work across pieces).
 */
export async function gzipReply(reply: MockReply, kind: 'json' | 'sse', payload: unknown): Promise<void> {
  if (kind === 'json') return reply.raw(200, gzipSync(JSON.stringify(payload)), 'application/json', { 'content-encoding': 'gzip' });
  const bytes = gzipSync((payload as string[]).join(''));
  const third = Math.ceil(bytes.length / 3);
  const frames = [0, 1, 2].map((i) => bytes.subarray(i * third, (i + 1) * third));
  await reply.stream({ contentType: 'text/event-stream', frames, malformedFrame: 'data: {\n\n', headers: { 'content-encoding': 'gzip' } });
}
