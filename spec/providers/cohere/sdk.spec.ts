import type OpenAI from 'openai';
import { CohereMock } from '../../support/mock-providers/cohere-mock';
import { errorConformance } from '../conformance';
import { providerSpec } from '../relay-sdk';

/** The official openai and @anthropic-ai/sdk clients → relay (llm-proxy, provider cohere) → the Cohere v2 mock. */
const KEY = 'co-upstream-key';
const TOOL = { name: 'get_weather', arguments: '{"city":"Paris","days":3}' };
const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: TOOL.name, description: 'Weather forecast', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'number' } } } } }];

describe('openai / anthropic SDK → llm-proxy → Cohere v2', () => {
  const mock = new CohereMock({ apiKey: KEY, tool: TOOL });
  const spec = providerSpec(mock, (url) => ({ provider: 'cohere', base_url: `${url}/v2`, auth: { api_key: KEY } }));

  const messages: OpenAI.ChatCompletionMessageParam[] = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'hello there friend' },
  ];

  it('chat: a translated completion, Cohere request with the gateway\'s Bearer key', async () => {
    const { data, response } = await spec.client.chat.completions.create({ model: 'command-a', messages, max_tokens: 3, top_p: 0.5, seed: 1 }).withResponse();
    expect(data).toMatchObject({ object: 'chat.completion', model: 'command-a', choices: [{ message: { role: 'assistant', content: 'Echo: hello there' }, finish_reason: 'length' }], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } });
    expect(response.headers.get('x-llm-provider')).toBe('cohere');
    const sent = mock.requests[0]!;
    expect(sent.path).toBe('/v2/chat');
    expect(sent.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(sent.body).toEqual({ model: 'command-a', max_tokens: 3, p: 0.5, seed: 1, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello there friend' }] });
  });

  it('stream: text chunks, one finish_reason, usage chunk only with include_usage', async () => {
    for (const includeUsage of [false, true]) {
      const stream = await spec.client.chat.completions.create({ model: 'command-a', messages, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) });
      let text = '';
      const finishes: string[] = [];
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toBe('Echo: hello there friend');
      expect(finishes).toEqual(['stop']);
      expect(usage).toEqual(includeUsage ? expect.objectContaining({ prompt_tokens: 5, completion_tokens: 4 }) : undefined);
    }
    expect((await spec.relay.event(spec.relay.events.length)).usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 4, estimated: false });
  });

  it('tools: streamed tool arguments, then the tool result round trip', async () => {
    const stream = spec.client.chat.completions.stream({ model: 'command-a', messages, tools, tool_choice: 'required' });
    const first = await stream.finalChatCompletion();
    const call = first.choices[0]!.message.tool_calls![0]!;
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    expect(call).toMatchObject({ type: 'function', function: { name: TOOL.name, arguments: TOOL.arguments } });
    expect(mock.requests[0]!.body).toMatchObject({ tool_choice: 'REQUIRED', tools: [{ type: 'function', function: { name: TOOL.name } }] });

    const answer = await spec.client.chat.completions.create({
      model: 'command-a',
      tools,
      messages: [...messages, first.choices[0]!.message as OpenAI.ChatCompletionMessageParam, { role: 'tool', tool_call_id: call.id, content: 'sunny and warm' }],
    });
    expect(answer.choices[0]!.message.content).toBe('Echo: sunny and warm');
    expect((mock.requests[1]!.body as { messages: unknown[] }).messages.slice(-2)).toEqual([
      { role: 'assistant', tool_calls: [{ id: call.id, type: 'function', function: { name: TOOL.name, arguments: TOOL.arguments } }] },
      { role: 'tool', tool_call_id: call.id, content: 'sunny and warm' },
    ]);
  });

  it('JSON mode and embeddings (the SDK\'s default base64 encoding decoded to the same floats)', async () => {
    const json = await spec.client.chat.completions.create({ model: 'command-a', messages, response_format: { type: 'json_object' } });
    expect(JSON.parse(json.choices[0]!.message.content!)).toEqual({ echo: 'hello there friend' });
    const base64 = await spec.client.embeddings.create({ model: 'embed-v4.0', input: ['alpha beta', 'gamma'] });
    const floats = await spec.client.embeddings.create({ model: 'embed-v4.0', input: ['alpha beta', 'gamma'], encoding_format: 'float' });
    expect(base64.data).toHaveLength(2);
    expect(base64.data[0]!.embedding).toHaveLength(64);
    expect(base64.data[0]!.embedding).toEqual(floats.data[0]!.embedding);
    expect(base64.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    expect(mock.requests[1]!.body).toEqual({ model: 'embed-v4.0', texts: ['alpha beta', 'gamma'], input_type: 'search_document', embedding_types: ['float'] });
  });

  it('unsupported features get a typed 400 before the provider is called; model list a 404', async () => {
    await expect(spec.client.chat.completions.create({ model: 'command-a', messages, n: 2 })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/n > 1 is not supported by provider cohere/) });
    await expect(spec.client.models.list()).rejects.toMatchObject({ status: 404 });
    expect(mock.requests).toHaveLength(0);
  });

  it('the provider ending a stream with ERROR → an error event the SDK throws', async () => {
    mock.options.streamError = { afterFrames: 3, message: 'model overloaded' };
    try {
      const stream = await spec.client.chat.completions.create({ model: 'command-a', messages, stream: true });
      await expect((async () => { for await (const _ of stream); })()).rejects.toThrow(/model overloaded/);
    } finally {
      delete mock.options.streamError;
    }
  });

  it('gzip-encoded answers (JSON and SSE) reach the client decoded', async () => {
    mock.options.gzip = true;
    try {
      const json = await spec.client.chat.completions.create({ model: 'command-a', messages });
      expect(json.choices[0]!.message.content).toBe('Echo: hello there friend');
      const stream = await spec.client.chat.completions.create({ model: 'command-a', messages, stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text).toBe('Echo: hello there friend');
    } finally {
      mock.options.gzip = false;
    }
  });

  it('@anthropic-ai/sdk: an Anthropic client gets Anthropic messages and events translated from Cohere', async () => {
    const anthropic = spec.relay.anthropic(spec.config);
    const message = await anthropic.messages.create({ model: 'command-a', max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user', content: 'hello there friend' }] });
    expect(message).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'end_turn', content: [{ type: 'text', text: 'Echo: hello there friend' }], usage: { input_tokens: 5, output_tokens: 4 } });
    const final = await anthropic.messages
      .stream({ model: 'command-a', max_tokens: 100, tools: [{ name: TOOL.name, input_schema: { type: 'object', properties: { city: { type: 'string' } } } }], messages: [{ role: 'user', content: 'weather?' }] })
      .finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content.find((b) => b.type === 'tool_use')).toMatchObject({ name: TOOL.name, input: JSON.parse(TOOL.arguments) });
  });

  describe('provider failures', () => {
    errorConformance(() => ({ ...spec, mock, model: 'command-a' }));
  });
});
