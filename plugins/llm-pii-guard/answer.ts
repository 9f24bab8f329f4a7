import type { ChatChunk, ChatCompletion, ChunkHooks } from '../runtime/relay/stage';
import type { PseudonymVault } from './pseudonyms';
import type { PiiReport } from './report';
import { countFindings } from './report';
import type { Finding, Scanner } from './scanner';
import { chainTransducers, redactText, StreamingOutputScanner, StreamingRestorer, type TextTransducer } from './text-stream';

/** What the answer side needs of a request: its placeholders and, when output scanning is on, the scanner. */
export interface AnswerContext {
  vault: PseudonymVault;
  report: PiiReport;
  output?: { scanner: Scanner; action: 'redact' | 'block' };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function withheldMessage(types: string[]): string {
  return `The answer was withheld by the gateway's data protection policy: it contained ${types.join(', ')}.`;
}

function outputReport(ctx: AnswerContext): NonNullable<PiiReport['output']> {
  ctx.report.output ??= { detected: {}, action: ctx.output!.action, blocked: false };
  return ctx.report.output;
}

/** The function arguments of a message or delta: tool_calls[].function and the legacy function_call. */
function argumentHolders(message: Json): Json[] {
  const holders: Json[] = [];
  if (Array.isArray(message.tool_calls)) for (const call of message.tool_calls) if (isObject(call) && isObject(call.function)) holders.push(call.function);
  if (isObject(message.function_call)) holders.push(message.function_call);
  return holders;
}

/** A non-streamed answer: the model's own PII is scanned first (placeholders are not PII), then originals go back. */
export function processCompletion(ctx: AnswerContext, completion: ChatCompletion): void {
  for (const choice of completion.choices) {
    const message = choice.message as Json;
    if (ctx.output) {
      const texts: { get: () => unknown; set: (v: string) => void }[] = [
        { get: () => message.content, set: (v) => (message.content = v) },
        ...argumentHolders(message).map((h) => ({ get: () => h.arguments, set: (v: string) => (h.arguments = v) })),
      ];
      const found: Finding[] = [];
      for (const t of texts) {
        const text = t.get();
        if (typeof text !== 'string') continue;
        const { findings } = ctx.output.scanner.scan(text);
        found.push(...findings);
        if (findings.length > 0 && ctx.output.action === 'redact') t.set(redactText(text, findings));
      }
      const report = outputReport(ctx);
      countFindings(found, report.detected);
      if (found.length > 0 && ctx.output.action === 'block') {
        report.blocked = true;
        message.content = null;
        message.refusal = withheldMessage([...new Set(found.map((f) => f.type))]);
        delete message.tool_calls;
        delete message.function_call;
        choice.finish_reason = 'content_filter';
        continue;
      }
    }
    if (ctx.vault.size === 0) continue;
    if (typeof message.content === 'string') message.content = ctx.vault.restore(message.content);
    if (typeof message.refusal === 'string') message.refusal = ctx.vault.restore(message.refusal);
    for (const holder of argumentHolders(message)) {
      if (typeof holder.arguments === 'string') holder.arguments = ctx.vault.restore(holder.arguments, true);
    }
  }
}

/**
 * A streamed answer: one transducer per text stream (each choice's content, each tool call's arguments), built from
 * the output scanner (if on) and the placeholder restorer. What they hold back is sent with the choice's finishing
 * chunk, or at the end of the stream.
 */
export function streamHooks(ctx: AnswerContext): ChunkHooks {
  const streams = new Map<string, { choice: number; tool?: number; transducer: TextTransducer }>();
  let template: ChatChunk | undefined;
  let stopped = false;
  let outputBlocked = false;

  const streamFor = (choice: number, tool?: number) => {
    const key = tool === undefined ? `${choice}` : `${choice}:${tool}`;
    let s = streams.get(key);
    if (!s) {
      const parts: TextTransducer[] = [];
      if (ctx.output) {
        const report = outputReport(ctx);
        const block = ctx.output.action === 'block';
        const scanner = new StreamingOutputScanner(ctx.output.scanner, block, (found) => {
          countFindings(found, report.detected);
          outputBlocked ||= block;
        });
        parts.push(scanner);
      }
      if (ctx.vault.size > 0) parts.push(new StreamingRestorer(ctx.vault, tool !== undefined));
      s = { choice, tool, transducer: chainTransducers(parts) };
      streams.set(key, s);
    }
    return s;
  };

  const blockedChunk = (choice: number): ChatChunk => {
    const report = outputReport(ctx);
    report.blocked = true;
    return {
      ...template!,
      choices: [{ index: choice, delta: { refusal: withheldMessage(Object.keys(report.detected)) }, finish_reason: 'content_filter' }],
    };
  };
  const isBlocked = () => outputBlocked;

  /** Sends what the streams of one choice (or all) still hold, into `delta`. */
  const drain = (delta: Json, choice?: number) => {
    for (const [key, s] of streams) {
      if (choice !== undefined && s.choice !== choice) continue;
      const rest = s.transducer.end();
      streams.delete(key);
      if (rest === '') continue;
      if (s.tool === undefined) delta.content = (typeof delta.content === 'string' ? delta.content : '') + rest;
      else {
        const calls = Array.isArray(delta.tool_calls) ? delta.tool_calls : (delta.tool_calls = []);
        (calls as Json[]).push({ index: s.tool, function: { arguments: rest } });
      }
    }
  };

  return {
    onChunk(chunk) {
      if (stopped) return { chunks: [], stop: true };
      template = chunk;
      for (const choice of chunk.choices) {
        const delta = choice.delta as Json;
        if (typeof delta.content === 'string' && delta.content !== '') delta.content = streamFor(choice.index).transducer.push(delta.content);
        if (Array.isArray(delta.tool_calls)) {
          for (const call of delta.tool_calls) {
            if (!isObject(call) || !isObject(call.function) || typeof call.function.arguments !== 'string') continue;
            call.function.arguments = streamFor(choice.index, Number(call.index ?? 0)).transducer.push(call.function.arguments);
          }
        }
        if (choice.finish_reason) drain(delta, choice.index);
        if (isBlocked()) {
          stopped = true;
          return { chunks: [blockedChunk(choice.index)], stop: true };
        }
      }
      return { chunks: [chunk] };
    },
    flush() {
      if (stopped || !template || streams.size === 0) return [];
      const out: ChatChunk[] = [];
      for (const choice of new Set([...streams.values()].map((s) => s.choice))) {
        const delta: Json = {};
        drain(delta, choice);
        if (isBlocked()) {
          stopped = true;
          return [blockedChunk(choice)];
        }
        if (Object.keys(delta).length > 0) out.push({ ...template, usage: undefined, choices: [{ index: choice, delta, finish_reason: null }] });
      }
      return out;
    },
  };
}
