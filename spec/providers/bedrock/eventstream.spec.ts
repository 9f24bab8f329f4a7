import { ConverseToOpenAiStream } from '../../../plugins/providers/bedrock/stream-to-openai';
import { END_EVENT, EXCEPTION_EVENT, eventStreamDecoder } from '../../../plugins/providers/bedrock/eventstream';
import type { StreamEventResult } from '../../../plugins/providers/types';
import type { ChatChunk } from '../../../plugins/runtime/relay/stage';
import { gatewayErrorOf } from './gateway-error';
import { BedrockMock } from '../../support/mock-providers/bedrock-mock';

const event = BedrockMock.eventMessage;
const SAMPLE = [
  event('messageStart', { role: 'assistant' }),
  event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Héllo ' } }),
  event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'wörld 🌍' } }),
  event('contentBlockStop', { contentBlockIndex: 0 }),
  event('contentBlockStart', { contentBlockIndex: 1, start: { toolUse: { toolUseId: 'tooluse_a', name: 'get_weather' } } }),
  event('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{"city":' } } }),
  event('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '"Paris"}' } } }),
  event('contentBlockStop', { contentBlockIndex: 1 }),
  event('contentBlockStart', { contentBlockIndex: 2, start: { toolUse: { toolUseId: 'tooluse_b', name: 'now' } } }),
  event('contentBlockStop', { contentBlockIndex: 2 }),
  event('messageStop', { stopReason: 'tool_use' }),
  event('metadata', { usage: { inputTokens: 11, outputTokens: 7, totalTokens: 20, cacheReadInputTokens: 2 }, metrics: { latencyMs: 5 } }),
];
const BYTES = Buffer.concat(SAMPLE);

type Decoded = { data: string; event: string | undefined };

function decode(pieces: Uint8Array[]): Decoded[] {
  const out: Decoded[] = [];
  const decoder = eventStreamDecoder();
  const onEvent = (data: string, name: string | undefined) => out.push({ data, event: name });
  for (const piece of pieces) decoder.feed(piece, onEvent);
  decoder.end(onEvent);
  return out;
}

describe('AWS eventstream decoder', () => {
  const whole = decode([BYTES]);

  it('hands on each event payload as JSON with its :event-type, then the end of the body', () => {
    expect(whole.map((e) => e.event)).toEqual(['messageStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', 'contentBlockStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', 'contentBlockStart', 'contentBlockStop', 'messageStop', 'metadata', END_EVENT]);
    expect(JSON.parse(whole[2].data)).toMatchObject({ contentBlockIndex: 0, delta: { text: 'wörld 🌍' } });
  });

  it('gives the same events whichever byte boundary the stream is split at', () => {
    for (let cut = 1; cut < BYTES.length; cut++) {
      expect(decode([BYTES.subarray(0, cut), BYTES.subarray(cut)])).toEqual(whole);
    }
  });

  it('handles one byte at a time and several messages per chunk', () => {
    expect(decode([...BYTES].map((b) => Uint8Array.of(b)))).toEqual(whole);
    const third = Math.floor(BYTES.length / 3) + 5;
    expect(decode([BYTES.subarray(0, third), BYTES.subarray(third, 2 * third), BYTES.subarray(2 * third)])).toEqual(whole);
  });

  it('passes exception messages on as the exception event with their type and message', () => {
    const events = decode([Buffer.concat([SAMPLE[0], SAMPLE[1], BedrockMock.exceptionMessage('throttlingException', 'Too many tokens, please wait.')])]);
    expect(events.slice(-2)).toEqual([
      { event: EXCEPTION_EVENT, data: JSON.stringify({ type: 'throttlingException', message: 'Too many tokens, please wait.' }) },
      { event: END_EVENT, data: '{}' },
    ]);
  });

  it('rejects a message whose checksum does not match, and a stream that ends inside a message', () => {
    const broken = Buffer.from(SAMPLE[1]);
    broken[broken.length - 6] ^= 0x01;
    expect(gatewayErrorOf(() => decode([SAMPLE[0], broken]))).toMatchObject({ status: 502, code: 'upstream_malformed' });
    expect(gatewayErrorOf(() => decode([BYTES.subarray(0, BYTES.length - 3)])).message).toMatch(/ended inside a message/);
  });
});

/** Feeds events as the relay does: nothing after a result that ends the stream (done or error). */
function translate(events: Decoded[], includeUsage: boolean): StreamEventResult[] {
  const filter = new ConverseToOpenAiStream(includeUsage, 'model-x');
  const results: StreamEventResult[] = [];
  for (const e of events) {
    const result = filter.onEvent(e.data, e.event);
    results.push(result);
    if (result.done || result.error) break;
  }
  return results;
}
const chunksOf = (results: StreamEventResult[]): ChatChunk[] => results.flatMap((r) => r.chunks ?? []);

describe('ConverseStream → OpenAI chunks', () => {
  const events = decode([BYTES]);
  const withoutMetadata = decode([Buffer.concat(SAMPLE.slice(0, -1))]);

  it('sends the role first, text, tool calls with streamed arguments ({} when none), one finish chunk, then the usage', () => {
    for (const includeUsage of [false, true]) {
      const results = translate(events, includeUsage);
      const chunks = chunksOf(results);
      expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Héllo wörld 🌍');
      const calls = chunks.flatMap((c) => (c.choices[0]?.delta.tool_calls as { index: number; id?: string; function: { name?: string; arguments: string } }[]) ?? []);
      expect(calls.filter((c) => c.id).map((c) => [c.index, c.id, c.function.name])).toEqual([
        [0, 'tooluse_a', 'get_weather'],
        [1, 'tooluse_b', 'now'],
      ]);
      expect(JSON.parse(calls.filter((c) => c.index === 0).map((c) => c.function.arguments).join(''))).toEqual({ city: 'Paris' });
      expect(calls.filter((c) => c.index === 1).map((c) => c.function.arguments).join('')).toBe('{}');
      const finishing = chunks.filter((c) => c.choices[0]?.finish_reason);
      expect(finishing).toHaveLength(1);
      expect(finishing[0].choices[0].finish_reason).toBe('tool_calls');
      const usageChunks = chunks.filter((c) => c.usage);
      expect(usageChunks).toHaveLength(includeUsage ? 1 : 0);
      if (includeUsage) {
        expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 13, completion_tokens: 7, total_tokens: 20, prompt_tokens_details: { cached_tokens: 2 } } });
      }
      expect(results.at(-1)).toMatchObject({ done: true, usage: { promptTokens: 13, completionTokens: 7, cachedTokens: 2, estimated: false } });
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    }
  });

  it('without metadata: the finish chunk comes once, no usage is claimed, and the end of the body ends the stream', () => {
    const results = translate(withoutMetadata, true);
    expect(chunksOf(results).filter((c) => c.choices[0]?.finish_reason)).toHaveLength(1);
    expect(results.some((r) => r.usage)).toBe(false);
    expect(results.at(-1)).toEqual({ chunks: [], done: true });
  });

  it('a body that ends before messageStop is an error, not a silently cut answer', () => {
    const cut = decode([Buffer.concat(SAMPLE.slice(0, 3))]);
    expect(translate(cut, false).at(-1)).toEqual({ error: { status: 502, message: 'provider bedrock ended the stream before messageStop' } });
  });

  it('turns an exception mid-stream into an error with its status', () => {
    const exception = decode([Buffer.concat([SAMPLE[0], SAMPLE[1], BedrockMock.exceptionMessage('modelStreamErrorException', 'The model failed.')])]);
    const results = translate(exception, false);
    expect(results.at(-1)).toEqual({ error: { status: 502, message: 'modelStreamErrorException: The model failed.' } });
  });
});
