import { mistral } from '../../../plugins/providers/mistral';
import { mistralToolCallId, openAiRequestToMistral } from '../../../plugins/providers/mistral/request';
import { MistralStreamFilter } from '../../../plugins/providers/mistral/stream';
import { GatewayError } from '../../../plugins/runtime/relay/errors';
import { chunksOf, feedStream, midCharacterCuts, textOf, testTarget } from '../conformance';

const target = testTarget('mistral', 'https://api.mistral.ai/v1');

describe('mistral: OpenAI request → Mistral chat', () => {
  it.each([
    ['developer → system', { messages: [{ role: 'developer', content: 'be brief' }, { role: 'user', content: 'hi', name: 'bob' }] }, { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }] }],
    ['max_completion_tokens → max_tokens, seed → random_seed', { max_completion_tokens: 20, max_tokens: 99, seed: 3 }, { max_tokens: 20, random_seed: 3 }],
    ['max_tokens kept', { max_tokens: 9 }, { max_tokens: 9 }],
    ['tool_choice required → any', { tool_choice: 'required' }, { tool_choice: 'any' }],
    ['tool_choice function kept', { tool_choice: { type: 'function', function: { name: 'f' } } }, { tool_choice: { type: 'function', function: { name: 'f' } } }],
    ['parallel_tool_calls, response_format, stop, penalties, n passed', { parallel_tool_calls: false, response_format: { type: 'json_object' }, stop: ['x'], presence_penalty: 0.1, frequency_penalty: 0.2, n: 2, top_p: 0.9, temperature: 0.3 }, { parallel_tool_calls: false, response_format: { type: 'json_object' }, stop: ['x'], presence_penalty: 0.1, frequency_penalty: 0.2, n: 2, top_p: 0.9, temperature: 0.3 }],
    ['OpenAI-only fields dropped', { user: 'u', logit_bias: { 1: 1 }, store: true, service_tier: 'auto', metadata: { a: 'b' }, stream_options: { include_usage: true }, reasoning_effort: 'low' }, {}],
  ])('%s', (_name, request, expected) => {
    expect(openAiRequestToMistral({ model: 'mistral-small-latest', messages: [], ...request }, 'mistral-small-latest')).toEqual({ model: 'mistral-small-latest', messages: [], ...expected });
  });

  it('maps foreign tool-call ids to Mistral\'s 9-character form, the same for the call and its result', () => {
    const out = openAiRequestToMistral(
      {
        messages: [
          { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'call_abc123XYZ', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'call_abc123XYZ', content: 'ok' },
          { role: 'assistant', content: '', tool_calls: [{ id: 'D681PevKs', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        ],
      },
      'm',
    );
    const messages = out.messages as { tool_calls?: { id: string }[]; tool_call_id?: string }[];
    const mapped = messages[0]!.tool_calls![0]!.id;
    expect(mapped).toMatch(/^[A-Za-z0-9]{9}$/);
    expect(messages[1]!.tool_call_id).toBe(mapped);
    expect(messages[2]!.tool_calls![0]!.id).toBe('D681PevKs');
    expect(messages[0]).toEqual({ role: 'assistant', content: '', tool_calls: [{ id: mapped, type: 'function', function: { name: 'f', arguments: '{}' } }] });
    expect(mistralToolCallId('call_other')).not.toBe(mapped);
  });

  it.each([
    ['logprobs', { logprobs: true }],
    ['top_logprobs', { top_logprobs: 2 }],
    ['audio output', { modalities: ['audio'] }],
    ['a function role', { messages: [{ role: 'function', content: 'x' }] }],
  ])('refuses %s with a 400', (_name, request) => {
    expect(() => openAiRequestToMistral({ messages: [], ...request }, 'm')).toThrow(GatewayError);
  });

  it('builds requests: Bearer key, no stream_options, embeddings with output_dimension, models list', () => {
    const { request, filter } = mistral.chatRequest({ model: 'mistral-small-latest', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } }, target);
    expect(request).toMatchObject({ url: 'https://api.mistral.ai/v1/chat/completions', headers: { authorization: 'Bearer mistral-key', accept: 'text/event-stream' } });
    expect(JSON.parse(request.body!)).toEqual({ model: 'mistral-small-latest', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    expect(filter).toBeInstanceOf(MistralStreamFilter);
    const embed = mistral.embeddingsRequest({ model: 'mistral-embed', input: ['a'], dimensions: 32, user: 'u', encoding_format: 'float' }, target);
    expect(JSON.parse(embed.body!)).toEqual({ model: 'mistral-embed', input: ['a'], output_dimension: 32, encoding_format: 'float' });
    expect(mistral.modelsRequest(target)).toMatchObject({ method: 'GET', url: 'https://api.mistral.ai/v1/models' });
  });

  it.each([
    [{ object: 'error', message: 'Invalid model: x', type: 'invalid_model', param: null, code: '1500' }, 'Invalid model: x'],
    [{ object: 'error', message: { detail: [{ type: 'extra_forbidden', loc: ['body', 'seed'], msg: 'Extra inputs are not permitted' }] }, type: 'invalid_request_message_error' }, 'body.seed: Extra inputs are not permitted'],
    [{ message: 'Unauthorized', request_id: 'r' }, 'Unauthorized'],
    [{ detail: 'Not Found' }, 'Not Found'],
    [{ error: { message: 'openai-style' } }, 'openai-style'],
    [{ nothing: true }, undefined],
  ])('reads the error body %j', (body, message) => {
    expect(mistral.errorMessage(body)).toBe(message);
  });
});

describe('mistral: stream', () => {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'mistral-small-latest', choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;
  const usage = { prompt_tokens: 4, total_tokens: 7, completion_tokens: 3 };
  const stream = [chunk({ role: 'assistant', content: '' }), chunk({ content: 'Bonjour' }), chunk({ content: ' à 🌍' }), chunk({ content: '' }, 'stop', { usage }), 'data: [DONE]\n\n'].join('');

  it.each([
    ['whole', [], false],
    ['split mid-UTF-8, usage asked', midCharacterCuts(stream), true],
    ['CRLF, every 7 bytes', Array.from({ length: Math.floor(stream.length / 7) }, (_, i) => (i + 1) * 7), false],
  ])('text and usage from the last chunk (%s)', (_name, cuts, wantsUsage) => {
    const text = _name.startsWith('CRLF') ? stream.replace(/\n/g, '\r\n') : stream;
    const results = feedStream(new MistralStreamFilter(wantsUsage as boolean), text, cuts as number[]);
    const chunks = chunksOf(results);
    expect(textOf(chunks)).toBe('Bonjour à 🌍');
    expect(chunks.filter((c) => c.choices[0]?.finish_reason)).toHaveLength(1);
    expect(chunks.filter((c) => c.choices.length > 0).every((c) => c.usage === undefined)).toBe(true);
    expect(chunks.filter((c) => c.usage)).toEqual(wantsUsage ? [expect.objectContaining({ choices: [], usage })] : []);
    expect(results.find((r) => r.usage)?.usage).toMatchObject({ promptTokens: 4, completionTokens: 3, estimated: false });
    expect(results[0]?.model).toBe('mistral-small-latest');
    expect(results.at(-1)).toMatchObject({ done: true });
  });

  it('no usage in the stream: none reported (the relay estimates); an error event is an error', () => {
    const results = feedStream(new MistralStreamFilter(true), chunk({ content: 'x' }, 'stop') + 'data: [DONE]\n\n');
    expect(results.some((r) => r.usage)).toBe(false);
    expect(chunksOf(results).some((c) => c.usage)).toBe(false);
    const failed = feedStream(new MistralStreamFilter(false), `${chunk({ content: 'x' })}data: {"object":"error","message":"Service unavailable","type":"internal_server_error"}\n\n`);
    expect(failed.at(-1)).toEqual({ error: { status: 502, message: 'Service unavailable' } });
  });
});
