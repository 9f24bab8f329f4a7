import { createParser } from 'eventsource-parser';
import { anthropicMessageToCompletion, anthropicUsage, completionToAnthropicMessage, finishReasonOf, stopReasonOf } from '../../../plugins/providers/anthropic/message';
import { OpenAiToAnthropicStream } from '../../../plugins/providers/anthropic/stream-from-openai';
import { AnthropicToOpenAiStream } from '../../../plugins/providers/anthropic/stream-to-openai';
import { AnthropicPassThroughStream } from '../../../plugins/providers/anthropic/passthrough';
import type { ChatChunk } from '../../../plugins/runtime/relay/stage';

const frame = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** A tool-use answer as Anthropic streams it: input in message_start, output in message_delta, cache figures. */
const TOOL_STREAM = [
  frame('message_start', {
    message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-x', content: [], usage: { input_tokens: 10, cache_read_input_tokens: 30, cache_creation_input_tokens: 5, output_tokens: 1 } },
  }),
  frame('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
  'event: ping\ndata: {"type": "ping"}\n\n',
  frame('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Let me check ' } }),
  frame('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'the weather – ☀' } }),
  frame('content_block_stop', { index: 0 }),
  frame('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} } }),
  frame('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '' } }),
  frame('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"city": "Pa' } }),
  frame('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: 'ris"}' } }),
  frame('content_block_stop', { index: 1 }),
  frame('content_block_start', { index: 2, content_block: { type: 'tool_use', id: 'toolu_2', name: 'now', input: {} } }),
  frame('content_block_stop', { index: 2 }),
  frame('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 7 } }),
  frame('message_stop', {}),
].join('');

/** Feeds a stream to the filter in pieces of `size` bytes (splitting events mid-line, mid-JSON and mid-UTF-8). */
function runFilter(text: string, size: number, wantsUsage = true) {
  const filter = new AnthropicToOpenAiStream(wantsUsage);
  const chunks: ChatChunk[] = [];
  const usages: unknown[] = [];
  let done = 0;
  const parser = createParser({
    onEvent(e) {
      const out = filter.onEvent(e.data, e.event);
      chunks.push(...(out.chunks ?? []));
      if (out.usage) usages.push(out.usage);
      if (out.done) done++;
    },
  });
  const bytes = Buffer.from(text);
  const decoder = new TextDecoder();
  for (let at = 0; at < bytes.length; at += size) parser.feed(decoder.decode(bytes.subarray(at, at + size), { stream: true }));
  return { chunks, usages, done };
}

describe('Anthropic SSE → OpenAI chunks', () => {
  it.each([1, 7, 64, 100_000])('gives the same chunks whatever the split (%i-byte pieces)', (size) => {
    const { chunks, usages, done } = runFilter(TOOL_STREAM, size);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('Let me check the weather – ☀');
    const calls = chunks.flatMap((c) => (c.choices[0]?.delta.tool_calls as { index: number; id?: string; function: { name?: string; arguments: string } }[]) ?? []);
    expect(calls.filter((c) => c.id).map((c) => [c.index, c.id, c.function.name])).toEqual([
      [0, 'toolu_1', 'get_weather'],
      [1, 'toolu_2', 'now'],
    ]);
    const args = (i: number) => calls.filter((c) => c.index === i).map((c) => c.function.arguments).join('');
    expect(JSON.parse(args(0))).toEqual({ city: 'Paris' });
    expect(args(1)).toBe('{}'); // a tool without input still gets valid JSON arguments
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0].finish_reason)).toEqual(['tool_calls']);
    expect(done).toBe(1);
    // input counted from message_start once, output from message_delta once, cache reads/writes apart
    expect(usages.at(-1)).toEqual({ promptTokens: 45, completionTokens: 7, totalTokens: 52, cachedTokens: 30, cacheWriteTokens: 5, estimated: false });
    const usageChunk = chunks.at(-1)!;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toMatchObject({ prompt_tokens: 45, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 30 } });
  });

  it('leaves the usage chunk out when the client did not ask for it, and handles CRLF line ends', () => {
    const { chunks, usages } = runFilter(TOOL_STREAM.replace(/\n/g, '\r\n'), 13, false);
    expect(chunks.some((c) => c.choices.length === 0)).toBe(false);
    expect(usages.at(-1)).toMatchObject({ promptTokens: 45, completionTokens: 7 });
  });

  it('turns an error event into an error with Anthropic\'s status for the type', () => {
    const filter = new AnthropicToOpenAiStream(false);
    expect(filter.onEvent(JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), 'error').error).toEqual({ status: 529, message: 'Overloaded' });
  });

  it('pass-through forwards frames untouched and reads usage and model', () => {
    const filter = new AnthropicPassThroughStream();
    const out: string[] = [];
    let usage: unknown;
    const parser = createParser({
      onEvent(e) {
        const r = filter.onEvent(e.data, e.event);
        if (r.forward) out.push(r.forward);
        if (r.usage) usage = r.usage;
      },
    });
    parser.feed(TOOL_STREAM);
    expect(out.join('')).toBe(TOOL_STREAM);
    expect(usage).toMatchObject({ promptTokens: 45, completionTokens: 7, cachedTokens: 30, cacheWriteTokens: 5 });
  });
});

describe('OpenAI chunks → Anthropic SSE', () => {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): ChatChunk => ({ id: 'chatcmpl-abc', model: 'gpt-x', choices: [{ index: 0, delta, finish_reason: finish }] });

  function events(frames: string): { event: string; data: Record<string, unknown> }[] {
    const out: { event: string; data: Record<string, unknown> }[] = [];
    createParser({ onEvent: (e) => out.push({ event: e.event ?? '', data: JSON.parse(e.data) }) }).feed(frames);
    return out;
  }

  it('produces the full event sequence for text then streamed tool arguments, with one terminal event each', () => {
    const s = new OpenAiToAnthropicStream('gpt-x', () => ({ promptTokens: 12, completionTokens: 0, totalTokens: 12, estimated: true }));
    let out = '';
    out += s.chunk(chunk({ role: 'assistant', content: '' }));
    out += s.chunk(chunk({ content: 'Hi' }));
    out += s.chunk(chunk({ content: ' there' }));
    out += s.chunk(chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }] }));
    out += s.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] }));
    out += s.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }));
    out += s.chunk(chunk({}, 'tool_calls'));
    out += s.end({ promptTokens: 12, completionTokens: 9, totalTokens: 21, cachedTokens: 2, estimated: false });
    out += s.end(undefined); // a second end adds nothing
    const ev = events(out);
    expect(ev.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(ev.every((e) => e.data.type === e.event)).toBe(true);
    expect(ev[0].data.message).toMatchObject({ id: 'msg_abc', role: 'assistant', model: 'gpt-x', usage: { input_tokens: 12, output_tokens: 0 } });
    expect(ev[5].data).toMatchObject({ index: 1, content_block: { type: 'tool_use', id: 'toolu_call_1', name: 'f', input: {} } });
    expect(ev[6].data.delta).toEqual({ type: 'input_json_delta', partial_json: '{"a":' });
    expect(ev[9].data).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { input_tokens: 10, output_tokens: 9, cache_read_input_tokens: 2 } });
  });

  it('ends an empty answer well-formed, and a failure with one error event and nothing after it', () => {
    const empty = events(new OpenAiToAnthropicStream('m', () => undefined).end(undefined));
    expect(empty.map((e) => e.event)).toEqual(['message_start', 'message_delta', 'message_stop']);
    const s = new OpenAiToAnthropicStream('m', () => undefined);
    const failed = events(s.chunk(chunk({ content: 'x' })) + s.error('overloaded_error', 'Overloaded') + s.end(undefined) + s.error('api_error', 'again'));
    expect(failed.map((e) => e.event)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'error']);
    expect(failed.at(-1)!.data).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  });
});

describe('JSON answers and vocabularies', () => {
  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
  ])('stop_reason %s → finish_reason %s', (stop, finish) => expect(finishReasonOf(stop)).toBe(finish));

  it.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['content_filter', 'refusal'],
  ])('finish_reason %s → stop_reason %s', (finish, stop) => expect(stopReasonOf(finish)).toBe(stop));

  it('translates an Anthropic message to a completion (thinking left out) and a completion to a message', () => {
    const message = {
      id: 'msg_9',
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content: [
        { type: 'thinking', thinking: 't', signature: 's' },
        { type: 'text', text: 'Sure.' },
        { type: 'tool_use', id: 'toolu_9', name: 'f', input: {} },
      ],
      stop_reason: 'tool_use',
      usage: { input_tokens: 3, output_tokens: 4, cache_read_input_tokens: 2 },
    };
    const completion = anthropicMessageToCompletion(message);
    expect(completion.choices[0]).toMatchObject({
      message: { role: 'assistant', content: 'Sure.', tool_calls: [{ id: 'toolu_9', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      finish_reason: 'tool_calls',
    });
    expect(completion.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 4, total_tokens: 9, prompt_tokens_details: { cached_tokens: 2 } });
    const back = completionToAnthropicMessage(completion, anthropicUsage(message.usage), 'fallback');
    expect(back).toMatchObject({
      type: 'message',
      model: 'claude-x',
      content: [{ type: 'text', text: 'Sure.' }, { type: 'tool_use', id: 'toolu_9', name: 'f', input: {} }],
      stop_reason: 'tool_use',
      usage: { input_tokens: 3, output_tokens: 4, cache_read_input_tokens: 2, cache_creation_input_tokens: 0 },
    });
    expect(String(back.id)).toMatch(/^msg_/);
  });
});
