import { cohere } from '../../../plugins/providers/cohere';
import { cohereToCompletion } from '../../../plugins/providers/cohere/answer';
import { openAiRequestToCohere } from '../../../plugins/providers/cohere/request';
import { CohereToOpenAiStream } from '../../../plugins/providers/cohere/stream';
import { GatewayError } from '../../../plugins/runtime/relay/errors';
import { chunksOf, feedStream, midCharacterCuts, textOf, testTarget } from '../conformance';

const target = testTarget('cohere', 'https://api.cohere.com/v2');
const tool = { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };

describe('cohere: OpenAI request → Cohere v2 chat', () => {
  it.each([
    ['system and developer → system', { messages: [{ role: 'developer', content: [{ type: 'text', text: 'be brief' }] }, { role: 'user', content: 'hi' }] }, { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }] }],
    ['sampling fields renamed', { messages: [], temperature: 0.2, top_p: 0.9, seed: 7, stop: 'END', max_completion_tokens: 50, max_tokens: 99, presence_penalty: 0.1 }, { temperature: 0.2, p: 0.9, seed: 7, stop_sequences: ['END'], max_tokens: 50, presence_penalty: 0.1 }],
    ['OpenAI-only fields dropped', { messages: [], user: 'u1', metadata: { a: 1 }, store: true, service_tier: 'auto', logit_bias: { 1: 2 }, stream_options: { include_usage: true }, parallel_tool_calls: false }, { messages: [] }],
    ['json_object', { messages: [], response_format: { type: 'json_object' } }, { response_format: { type: 'json_object' } }],
    ['json_schema → json_object with its schema', { messages: [], response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } } }, { response_format: { type: 'json_object', json_schema: { type: 'object' } } }],
    ['tools, tool_choice required', { messages: [], tools: [tool], tool_choice: 'required' }, { tools: [tool], tool_choice: 'REQUIRED' }],
    ['tool_choice none', { messages: [], tools: [tool], tool_choice: 'none' }, { tools: [tool], tool_choice: 'NONE' }],
    ['tool_choice auto → left out', { messages: [], tools: [tool], tool_choice: 'auto' }, { tools: [tool] }],
    [
      'a named function → only that tool, required',
      { messages: [], tools: [tool, { type: 'function', function: { name: 'other', parameters: { type: 'object' } } }], tool_choice: { type: 'function', function: { name: 'get_weather' } } },
      { tools: [tool], tool_choice: 'REQUIRED' },
    ],
  ])('%s', (_name, request, expected) => {
    const out = openAiRequestToCohere({ model: 'command-a', ...request }, 'command-a');
    expect(out).toEqual({ model: 'command-a', messages: [], ...expected });
  });

  it('carries tool calls and tool results round trip', () => {
    const out = openAiRequestToCohere(
      {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'weather?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAA' } }] },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: 'sunny' }] },
        ],
      },
      'command-a',
    );
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'weather?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAA' } }] },
      { role: 'assistant', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
    ]);
  });

  it.each([
    ['n > 1', { n: 2 }],
    ['logprobs', { logprobs: true }],
    ['audio output', { modalities: ['text', 'audio'] }],
    ['an audio part', { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }] }] }],
    ['a function role', { messages: [{ role: 'function', content: 'x' }] }],
    ['a named function not in tools', { tools: [tool], tool_choice: { type: 'function', function: { name: 'nope' } } }],
  ])('refuses %s with a 400', (_name, request) => {
    const attempt = () => openAiRequestToCohere({ messages: [], ...request }, 'm');
    expect(attempt).toThrow(GatewayError);
    expect(attempt).toThrow(expect.objectContaining({ status: 400 }));
  });

  it('builds requests: Bearer key, /chat and /embed, SSE accept for streams', () => {
    const { request, filter } = cohere.chatRequest({ model: 'command-a', messages: [{ role: 'user', content: 'hi' }], stream: true }, target);
    expect(request).toMatchObject({ method: 'POST', url: 'https://api.cohere.com/v2/chat', headers: { authorization: 'Bearer cohere-key', accept: 'text/event-stream' } });
    expect(JSON.parse(request.body!)).toEqual({ model: 'command-a', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(filter).toBeInstanceOf(CohereToOpenAiStream);
    const embed = cohere.embeddingsRequest({ model: 'embed-v4.0', input: 'one', dimensions: 256 }, target);
    expect(embed.url).toBe('https://api.cohere.com/v2/embed');
    expect(JSON.parse(embed.body!)).toEqual({ model: 'embed-v4.0', texts: ['one'], input_type: 'search_document', embedding_types: ['float'], output_dimension: 256 });
    expect(() => cohere.embeddingsRequest({ model: 'e', input: [1, 2, 3] }, target)).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => cohere.modelsRequest(target)).toThrow(expect.objectContaining({ status: 404 }));
  });
});

describe('cohere: answers → OpenAI', () => {
  const usage = { billed_units: { input_tokens: 5, output_tokens: 3 }, tokens: { input_tokens: 12, output_tokens: 3 } };

  it.each([
    ['COMPLETE', 'stop'],
    ['STOP_SEQUENCE', 'stop'],
    ['MAX_TOKENS', 'length'],
    ['TOOL_CALL', 'tool_calls'],
    ['ERROR_TOXIC', 'content_filter'],
  ])('finish_reason %s → %s', (reason, expected) => {
    const completion = cohereToCompletion({ id: 'x', finish_reason: reason, message: { role: 'assistant', content: [{ type: 'text', text: 'hi' }] }, usage }, 'command-a');
    expect(completion?.choices[0]?.finish_reason).toBe(expected);
  });

  it('translates text, tool calls and billed usage', () => {
    const completion = cohereToCompletion(
      {
        id: 'abc',
        finish_reason: 'TOOL_CALL',
        message: { role: 'assistant', tool_plan: 'I will call it', tool_calls: [{ id: 'get_weather_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        usage,
      },
      'command-a',
    );
    expect(completion).toMatchObject({
      id: 'chatcmpl-abc',
      object: 'chat.completion',
      model: 'command-a',
      choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null, tool_calls: [{ id: 'get_weather_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] } }],
      usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
    });
    expect(cohere.usageFromBody({ usage: { tokens: { input_tokens: 12, output_tokens: 3 } } })).toMatchObject({ promptTokens: 12, completionTokens: 3, estimated: false });
    expect(cohere.usageFromBody({ meta: { billed_units: { input_tokens: 4 } } })).toMatchObject({ promptTokens: 4, completionTokens: 0, totalTokens: 4 });
  });

  it('an ERROR finish is a 502 with the provider\'s message; errors read {"message"}', () => {
    expect(() => cohereToCompletion({ id: 'x', finish_reason: 'ERROR', message: { role: 'assistant' }, usage }, 'm')).toThrow(expect.objectContaining({ status: 502 }));
    expect(cohere.errorMessage({ id: 'e', message: 'invalid request: too many tokens' })).toBe('invalid request: too many tokens');
    expect(cohere.errorMessage({ detail: 'x' })).toBeUndefined();
  });

  it('embeddings: float vectors as OpenAI\'s list, base64 when the client asked for it', () => {
    const json = { id: 'e', embeddings: { float: [[0.5, -0.25]] }, meta: { billed_units: { input_tokens: 2 } }, response_type: 'embeddings_by_type' };
    expect(cohere.embeddingsFromBody!(json, {}, 'embed-v4.0')).toEqual({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.5, -0.25] }], model: 'embed-v4.0', usage: { prompt_tokens: 2, total_tokens: 2 } });
    const b64 = cohere.embeddingsFromBody!(json, { encoding_format: 'base64' }, 'm') as { data: { embedding: string }[] };
    const bytes = Buffer.from(b64.data[0]!.embedding, 'base64');
    expect([bytes.readFloatLE(0), bytes.readFloatLE(4)]).toEqual([0.5, -0.25]);
  });
});

describe('cohere: stream events → OpenAI chunks', () => {
  const ev = (type: string, data: Record<string, unknown> = {}) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const usage = { billed_units: { input_tokens: 4, output_tokens: 2 }, tokens: { input_tokens: 11, output_tokens: 2 } };
  const textStream = [
    ev('message-start', { id: 'm1', delta: { message: { role: 'assistant', content: [] } } }),
    ev('content-start', { index: 0, delta: { message: { content: { type: 'text', text: '' } } } }),
    ev('content-delta', { index: 0, delta: { message: { content: { text: 'Grüße' } } } }),
    ev('content-delta', { index: 0, delta: { message: { content: { text: ' 🌍' } } } }),
    ev('content-end', { index: 0 }),
    ev('message-end', { delta: { finish_reason: 'COMPLETE', usage } }),
  ].join('');

  it.each([
    ['whole', []],
    ['split mid-line and mid-UTF-8', midCharacterCuts(textStream)],
    ['every byte', Array.from({ length: textStream.length }, (_, i) => i + 1)],
  ])('text, one finish chunk, usage reported (%s)', (_name, cuts) => {
    const results = feedStream(new CohereToOpenAiStream('command-a', false), textStream, cuts as number[]);
    const chunks = chunksOf(results);
    expect(textOf(chunks)).toBe('Grüße 🌍');
    expect(chunks[0]).toMatchObject({ id: 'chatcmpl-m1', object: 'chat.completion.chunk', model: 'command-a', choices: [{ delta: { role: 'assistant', content: '' } }] });
    expect(chunks.filter((c) => c.choices[0]?.finish_reason)).toEqual([expect.objectContaining({ choices: [expect.objectContaining({ finish_reason: 'stop' })] })]);
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(results.at(-1)).toMatchObject({ done: true, usage: { promptTokens: 4, completionTokens: 2, estimated: false } });
  });

  it('several events in one piece, CRLF line ends, usage chunk only when asked', () => {
    const crlf = textStream.replace(/\n/g, '\r\n');
    const chunks = chunksOf(feedStream(new CohereToOpenAiStream('command-a', true), crlf));
    expect(textOf(chunks)).toBe('Grüße 🌍');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } });
  });

  it('tool calls: id and name first, arguments streamed, {} for a call without arguments', () => {
    const stream = [
      ev('message-start', { id: 'm2' }),
      ev('tool-plan-delta', { delta: { message: { tool_plan: 'I will' } } }),
      ev('tool-call-start', { index: 0, delta: { message: { tool_calls: { id: 'get_weather_a', type: 'function', function: { name: 'get_weather', arguments: '' } } } } }),
      ev('tool-call-delta', { index: 0, delta: { message: { tool_calls: { function: { arguments: '{"city":' } } } } }),
      ev('tool-call-delta', { index: 0, delta: { message: { tool_calls: { function: { arguments: '"Paris"}' } } } } }),
      ev('tool-call-end', { index: 0 }),
      ev('tool-call-start', { index: 1, delta: { message: { tool_calls: { id: 'now_b', type: 'function', function: { name: 'now', arguments: '' } } } } }),
      ev('tool-call-end', { index: 1 }),
      ev('message-end', { delta: { finish_reason: 'TOOL_CALL', usage } }),
    ].join('');
    const chunks = chunksOf(feedStream(new CohereToOpenAiStream('command-a', false), stream));
    const calls = chunks.flatMap((c) => (c.choices[0]?.delta.tool_calls as { index: number; id?: string; function: { name?: string; arguments: string } }[] | undefined) ?? []);
    expect(calls.filter((c) => c.id).map((c) => [c.index, c.id, c.function.name])).toEqual([
      [0, 'get_weather_a', 'get_weather'],
      [1, 'now_b', 'now'],
    ]);
    expect(calls.filter((c) => c.index === 0).map((c) => c.function.arguments).join('')).toBe('{"city":"Paris"}');
    expect(calls.filter((c) => c.index === 1).map((c) => c.function.arguments).join('')).toBe('{}');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
    expect(textOf(chunks)).toBe(''); // the tool plan is not answer text
  });

  it('a message-end without usage reports none (the relay then estimates); ERROR is an error', () => {
    const noUsage = feedStream(new CohereToOpenAiStream('m', true), ev('message-start', { id: 'x' }) + ev('message-end', { delta: { finish_reason: 'COMPLETE' } }));
    expect(noUsage.at(-1)).toMatchObject({ done: true });
    expect(noUsage.at(-1)?.usage).toBeUndefined();
    expect(chunksOf(noUsage).some((c) => c.usage)).toBe(false);
    const failed = feedStream(new CohereToOpenAiStream('m', false), ev('message-start', { id: 'x' }) + ev('message-end', { delta: { finish_reason: 'ERROR', error: 'internal failure' } }));
    expect(failed.at(-1)).toEqual({ error: { status: 502, message: 'internal failure' }, usage: undefined });
  });

  it('skips malformed events and unknown event types', () => {
    const results = feedStream(new CohereToOpenAiStream('m', false), `data: {"type":"content-delta",\n\n${ev('citation-start', { index: 0 })}${ev('debug')}`);
    expect(chunksOf(results)).toEqual([]);
  });
});
