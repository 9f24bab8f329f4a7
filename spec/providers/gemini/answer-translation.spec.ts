import { gemini } from '../../../plugins/providers/gemini';
import { embeddingsToOpenAi, modelsToOpenAi } from '../../../plugins/providers/gemini/embeddings';
import { googleErrorMessage, googleErrorStatus } from '../../../plugins/providers/gemini/errors';
import { finishReasonOf, geminiResponseToCompletion, geminiUsage } from '../../../plugins/providers/gemini/response';
import { GeminiToOpenAiStream } from '../../../plugins/providers/gemini/stream';
import type { ChatChunk } from '../../../plugins/runtime/relay/stage';
import { chunksOf, feedStream, midCharacterCuts, textOf } from '../conformance';

const USAGE = { promptTokenCount: 12, candidatesTokenCount: 5, thoughtsTokenCount: 7, cachedContentTokenCount: 4, totalTokenCount: 24 };

describe('Gemini answer → OpenAI chat completion', () => {
  it('maps text, function calls (ids, JSON arguments), finish reason and usage (thoughts inside completion tokens)', () => {
    const completion = geminiResponseToCompletion(
      {
        candidates: [
          {
            content: {
              role: 'model',
              parts: [
                { text: 'thinking about it', thought: true },
                { text: 'Let me ' },
                { text: 'check.' },
                { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'c2ln' },
                { functionCall: { name: 'now' } },
              ],
            },
            finishReason: 'STOP',
            index: 0,
          },
        ],
        usageMetadata: USAGE,
        modelVersion: 'gemini-2.5-flash-001',
        responseId: 'r1',
      },
      'gemini-2.5-flash',
    );
    expect(completion).toMatchObject({
      id: 'chatcmpl-r1',
      object: 'chat.completion',
      model: 'gemini-2.5-flash-001',
      choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: 'Let me check.' } }],
      usage: { prompt_tokens: 12, completion_tokens: 12, total_tokens: 24, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 7 } },
    });
    const calls = completion.choices[0]!.message.tool_calls as { id: string; type: string; function: { name: string; arguments: string } }[];
    expect(calls.map((c) => [c.type, c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      ['function', 'get_weather', { city: 'Paris' }],
      ['function', 'now', {}],
    ]);
    expect(calls[0]!.id).toMatch(/^call_[0-9a-f]{24}\.c2ln$/);
    expect(calls[1]!.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
  });

  it.each([
    ['STOP', false, 'stop'],
    ['STOP', true, 'tool_calls'],
    ['MAX_TOKENS', false, 'length'],
    ['SAFETY', false, 'content_filter'],
    ['RECITATION', false, 'content_filter'],
    ['BLOCKLIST', false, 'content_filter'],
    ['PROHIBITED_CONTENT', false, 'content_filter'],
    ['SPII', false, 'content_filter'],
    ['OTHER', false, 'stop'],
  ])('finishReason %s (function calls: %s) → %s', (reason, calls, expected) => {
    expect(finishReasonOf(reason, calls)).toBe(expected);
  });

  it('a SAFETY-stopped candidate without content → empty content, content_filter', () => {
    const completion = geminiResponseToCompletion({ candidates: [{ finishReason: 'SAFETY', index: 0, safetyRatings: [] }], modelVersion: 'm' }, 'm');
    expect(completion.choices[0]).toMatchObject({ finish_reason: 'content_filter', message: { content: '' } });
  });

  it('a blocked prompt is a 400 with a clear content_filter error', () => {
    const body = { promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: { promptTokenCount: 3, totalTokenCount: 3 } };
    expect(() => gemini.completionFromBody!(body, 'm')).toThrow(expect.objectContaining({ status: 400, code: 'content_filter', message: 'the provider blocked the prompt (blockReason PROHIBITED_CONTENT)' }));
  });

  it('several candidates → several choices', () => {
    const completion = geminiResponseToCompletion(
      { candidates: [0, 1].map((index) => ({ content: { role: 'model', parts: [{ text: `answer ${index}` }] }, finishReason: 'STOP', index })) },
      'm',
    );
    expect(completion.choices.map((c) => [c.index, c.message.content])).toEqual([
      [0, 'answer 0'],
      [1, 'answer 1'],
    ]);
    expect(completion.model).toBe('m');
  });

  it('usage without thoughts has no reasoning tokens; no usage → undefined', () => {
    expect(geminiUsage({ promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 })).toEqual({ promptTokens: 3, completionTokens: 2, totalTokens: 5, cachedTokens: undefined, estimated: false });
    expect(geminiUsage({})).toBeUndefined();
    expect(gemini.usageFromBody({ candidates: [] })).toBeUndefined();
  });

  it('Google errors: message and status from the envelope (also in an array), by code or by status name', () => {
    const envelope = { error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' } };
    expect(googleErrorMessage(envelope)).toBe('Resource has been exhausted (e.g. check quota).');
    expect(googleErrorMessage([envelope])).toBe('Resource has been exhausted (e.g. check quota).');
    expect(googleErrorStatus({ status: 'UNAVAILABLE' })).toBe(503);
    expect(googleErrorStatus({ status: 'INVALID_ARGUMENT' })).toBe(400);
    expect(googleErrorStatus({ code: 429 })).toBe(429);
    expect(googleErrorStatus({ status: 'WHATEVER' })).toBe(500);
  });

  it('embeddings (AI Studio and Vertex) → OpenAI list, float or base64 float32; models → OpenAI list', () => {
    const request = { model: 'e', input: ['one two', 'three'] };
    expect(embeddingsToOpenAi({ embeddings: [{ values: [0.5, -1] }, { values: [0.25, 0] }] }, request, 'e')).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.5, -1] },
        { object: 'embedding', index: 1, embedding: [0.25, 0] },
      ],
      model: 'e',
      usage: { prompt_tokens: expect.any(Number), total_tokens: expect.any(Number) },
    });
    const predicted = embeddingsToOpenAi(
      { predictions: [{ embeddings: { values: [0.5, -1], statistics: { token_count: 2, truncated: false } } }, { embeddings: { values: [1, 0], statistics: { token_count: 1 } } }] },
      { ...request, encoding_format: 'base64' },
      'e',
    )!;
    const data = predicted.data as { embedding: string }[];
    const decoded = Buffer.from(data[0]!.embedding, 'base64');
    expect([decoded.readFloatLE(0), decoded.readFloatLE(4)]).toEqual([0.5, -1]);
    expect(predicted.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    expect(gemini.usageFromBody({ predictions: [{ embeddings: { values: [], statistics: { token_count: 4 } } }] })).toMatchObject({ promptTokens: 4, estimated: false });
    expect(embeddingsToOpenAi({ other: 1 }, request, 'e')).toBeUndefined();
    expect(modelsToOpenAi({ models: [{ name: 'models/gemini-2.5-flash' }] })).toEqual({ object: 'list', data: [{ id: 'gemini-2.5-flash', object: 'model', created: 0, owned_by: 'google' }] });
  });
});

const event = (body: unknown, eol = '\r\n') => `data: ${JSON.stringify(body)}${eol}${eol}`;
const textEvent = (text: string, extra: Record<string, unknown> = {}) => ({
  candidates: [{ content: { role: 'model', parts: [{ text }] }, index: 0, ...extra }],
  usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 1, totalTokenCount: 10 },
  modelVersion: 'gemini-2.5-flash-001',
  responseId: 'resp-1',
});

/** Text, two function calls in one event, then the final event with finishReason and cumulative usage. */
const TOOL_STREAM = [
  event(textEvent('Voilà – ☀ ')),
  event(textEvent('I will check.')),
  event({
    candidates: [{ content: { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }, { functionCall: { name: 'now', args: {} } }] }, index: 0 }],
    usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 8, totalTokenCount: 17 },
    modelVersion: 'gemini-2.5-flash-001',
  }),
  event({ candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, finishReason: 'STOP', index: 0 }], usageMetadata: USAGE, modelVersion: 'gemini-2.5-flash-001' }),
].join('');

/** Runs a stream through the relay's SSE decoder and the filter, cut into pieces of `size` bytes or at the given offsets. */
function run(text: string, size: number | number[], wantsUsage = true) {
  const length = Buffer.byteLength(text);
  const cuts = Array.isArray(size) ? size : Array.from({ length: Math.ceil(length / size) - 1 }, (_, i) => (i + 1) * size);
  const results = feedStream(new GeminiToOpenAiStream(wantsUsage, 'gemini-2.5-flash'), text, cuts);
  return { results, chunks: chunksOf(results), usage: results.filter((r) => r.usage).at(-1)?.usage };
}

const toolCallsOf = (chunks: ChatChunk[]) => chunks.flatMap((c) => (c.choices[0]?.delta.tool_calls as { index: number; id: string; type: string; function: { name: string; arguments: string } }[]) ?? []);

describe('Gemini SSE → OpenAI chunks', () => {
  it.each<[string, number | number[]]>([
    ['1-byte pieces', 1],
    ['5-byte pieces', 5],
    ['33-byte pieces', 33],
    ['cuts inside every multi-byte character', midCharacterCuts(TOOL_STREAM)],
    ['one piece', 100_000],
  ])('same chunks whatever the split (%s): role first, text, tool calls with indexes, one finish, usage last', (_name, size) => {
    const { chunks, results, usage } = run(TOOL_STREAM, size);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    expect(textOf(chunks)).toBe('Voilà – ☀ I will check.');
    expect(toolCallsOf(chunks).map((c) => [c.index, c.type, c.function.name, JSON.parse(c.function.arguments)])).toEqual([
      [0, 'function', 'get_weather', { city: 'Paris' }],
      [1, 'function', 'now', {}],
    ]);
    expect(toolCallsOf(chunks).every((c) => /^call_/.test(c.id))).toBe(true);
    const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finishes.map((c) => c.choices[0]!.finish_reason)).toEqual(['tool_calls']);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 12, total_tokens: 24, completion_tokens_details: { reasoning_tokens: 7 } } });
    expect(results.filter((r) => r.done)).toHaveLength(1);
    expect(results.at(-1)!.done).toBe(true);
    expect(usage).toEqual({ promptTokens: 12, completionTokens: 12, totalTokens: 24, cachedTokens: 4, reasoningTokens: 7, estimated: false });
    expect(new Set(chunks.map((c) => c.id))).toEqual(new Set(['chatcmpl-resp-1']));
    expect(chunks.every((c) => c.model === 'gemini-2.5-flash-001')).toBe(true);
    expect(results.some((r) => r.model)).toBe(false);
  });

  it('several events in one network chunk, LF line ends; no usage chunk unless asked, usage still given to the relay', () => {
    const text = [event(textEvent('a'), '\n'), event(textEvent(' b', { finishReason: 'MAX_TOKENS' }), '\n')].join('');
    const { chunks, usage, results } = run(text, 100_000, false);
    expect(textOf(chunks)).toBe('a b');
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0]!.finish_reason)).toEqual(['length']);
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(usage).toMatchObject({ promptTokens: 9, completionTokens: 1, estimated: false });
    expect(results.at(-1)!.done).toBe(true);
  });

  it('without usageMetadata the relay gets no usage (and estimates it), and the client no usage chunk', () => {
    const bare = (text: string, extra = {}) => ({ candidates: [{ content: { role: 'model', parts: [{ text }] }, index: 0, ...extra }] });
    const { chunks, results } = run(event(bare('x')) + event(bare('y', { finishReason: 'STOP' })), 7);
    expect(results.some((r) => r.usage)).toBe(false);
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
  });

  it('a SAFETY finish → content_filter; a blocked prompt → a 400 error; an error event → its status and message', () => {
    const safety = run(event({ candidates: [{ finishReason: 'SAFETY', index: 0 }], usageMetadata: { promptTokenCount: 2, candidatesTokenCount: 0, totalTokenCount: 2 } }), 100);
    expect(safety.chunks.map((c) => c.choices[0]?.finish_reason ?? c.usage ?? null)).toEqual([null, 'content_filter', expect.objectContaining({ prompt_tokens: 2, completion_tokens: 0 })]);
    const blocked = run(event({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 2, totalTokenCount: 2 } }), 100);
    expect(blocked.results[0]!.error).toEqual({ status: 400, message: 'the provider blocked the prompt (blockReason SAFETY)' });
    const failed = run(event(textEvent('a')) + event({ error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } }), 10);
    expect(failed.results.at(-1)!.error).toEqual({ status: 503, message: 'The model is overloaded.' });
    const named = run(event([{ error: { message: 'quota', status: 'RESOURCE_EXHAUSTED' } }]), 10);
    expect(named.results[0]!.error).toEqual({ status: 429, message: 'quota' });
  });

  it('ignores events that are not JSON objects', () => {
    expect(new GeminiToOpenAiStream(false, 'm').onEvent('not json')).toEqual({});
    expect(new GeminiToOpenAiStream(false, 'm').onEvent('42')).toEqual({});
  });
});
