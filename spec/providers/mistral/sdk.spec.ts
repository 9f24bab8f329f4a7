import type OpenAI from 'openai';
import { MistralMock } from '../../support/mock-providers/mistral-mock';
import { errorConformance } from '../conformance';
import { providerSpec } from '../relay-sdk';

/** The official openai SDK → relay (llm-proxy, provider mistral) → the Mistral mock (strict about fields). */
const KEY = 'mi-upstream-key';
const TOOL = { name: 'get_weather', arguments: '{"city":"Lyon"}' };
const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: TOOL.name, parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];

describe('openai SDK → llm-proxy → Mistral', () => {
  const mock = new MistralMock({ apiKey: KEY, tool: TOOL });
  const spec = providerSpec(mock, (url) => ({ provider: 'mistral', base_url: `${url}/v1`, auth: { api_key: KEY } }));

  const messages: OpenAI.ChatCompletionMessageParam[] = [
    { role: 'developer', content: 'Be brief.' },
    { role: 'user', content: 'hello there friend' },
  ];

  it('chat: Mistral field names upstream, the answer as it came', async () => {
    const answer = await spec.client.chat.completions.create({ model: 'mistral-small-latest', messages, max_completion_tokens: 3, seed: 5, user: 'u-1', store: false });
    expect(answer).toMatchObject({ model: 'mistral-small-latest', choices: [{ message: { content: 'Echo: hello there' }, finish_reason: 'length' }], usage: { prompt_tokens: 5, completion_tokens: 3 } });
    expect(mock.requests[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(mock.requests[0]!.body).toEqual({ model: 'mistral-small-latest', max_tokens: 3, random_seed: 5, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello there friend' }] });
  });

  it('stream: usage taken from the last chunk, a usage chunk only with include_usage', async () => {
    for (const includeUsage of [false, true]) {
      const stream = await spec.client.chat.completions.create({ model: 'mistral-small-latest', messages, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) });
      let text = '';
      const usages: unknown[] = [];
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usages.push({ usage: chunk.usage, choices: chunk.choices.length });
      }
      expect(text).toBe('Echo: hello there friend');
      expect(usages).toEqual(includeUsage ? [{ usage: expect.objectContaining({ prompt_tokens: 5, completion_tokens: 4 }), choices: 0 }] : []);
    }
    expect(mock.requests.every((r) => !('stream_options' in (r.body as object)))).toBe(true);
    expect((await spec.relay.event(spec.relay.events.length)).usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 4, estimated: false });
  });

  it('a stream without usage gets estimated usage, marked so', async () => {
    mock.options.streamWithoutUsage = true;
    try {
      const before = spec.relay.events.length;
      const stream = await spec.client.chat.completions.create({ model: 'mistral-small-latest', messages, stream: true });
      for await (const _ of stream);
      expect((await spec.relay.event(before + 1)).usage).toMatchObject({ estimated: true, completion_tokens: expect.any(Number) });
    } finally {
      mock.options.streamWithoutUsage = false;
    }
  });

  it('tools: required → any, streamed arguments, and the round trip with an OpenAI-style id in the history', async () => {
    const first = await spec.client.chat.completions.stream({ model: 'mistral-small-latest', messages, tools, tool_choice: 'required', parallel_tool_calls: false }).finalChatCompletion();
    const call = first.choices[0]!.message.tool_calls![0]!;
    expect(call).toMatchObject({ function: { name: TOOL.name, arguments: TOOL.arguments } });
    expect(mock.requests[0]!.body).toMatchObject({ tool_choice: 'any', parallel_tool_calls: false });
    const history: OpenAI.ChatCompletionMessageParam[] = [
      ...messages,
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_9f8e7d6c5b4a', type: 'function', function: { name: TOOL.name, arguments: TOOL.arguments } }] },
      { role: 'tool', tool_call_id: 'call_9f8e7d6c5b4a', content: 'rain in Lyon' },
    ];
    const answer = await spec.client.chat.completions.create({ model: 'mistral-small-latest', tools, messages: history });
    expect(answer.choices[0]!.message.content).toBe('Echo: rain in Lyon');
  });

  it('JSON mode, embeddings and the model list', async () => {
    const json = await spec.client.chat.completions.create({ model: 'mistral-small-latest', messages, response_format: { type: 'json_object' } });
    expect(JSON.parse(json.choices[0]!.message.content!)).toEqual({ echo: 'hello there friend' });
    const embeddings = await spec.client.embeddings.create({ model: 'mistral-embed', input: ['alpha beta'], dimensions: 16 });
    expect(embeddings.data[0]!.embedding).toHaveLength(16);
    expect(embeddings.usage.prompt_tokens).toBe(2);
    expect(mock.requests[1]!.body).toMatchObject({ model: 'mistral-embed', input: ['alpha beta'], output_dimension: 16 });
    const models = await spec.client.models.list();
    expect(models.data.map((m) => m.id)).toContain('mistral-embed');
  });

  it('Mistral\'s 422 validation error reaches the client as a 422 with its detail', async () => {
    const r = await spec.relay.post('/v1/chat/completions', { model: 'mistral-small-latest', messages, response_format: { type: 'xml' } }, spec.config);
    expect(r.status).toBe(422);
    expect(r.json().error).toMatchObject({ type: 'invalid_request_error', message: expect.stringMatching(/^body\.response_format\.type: /) });
  });

  it('gzip-encoded answers (JSON and SSE) reach the client decoded', async () => {
    mock.options.gzip = true;
    try {
      const json = await spec.client.chat.completions.create({ model: 'mistral-small-latest', messages });
      expect(json.choices[0]!.message.content).toBe('Echo: hello there friend');
      let text = '';
      for await (const chunk of await spec.client.chat.completions.create({ model: 'mistral-small-latest', messages, stream: true })) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text).toBe('Echo: hello there friend');
    } finally {
      mock.options.gzip = false;
    }
  });

  describe('provider failures', () => {
    errorConformance(() => ({ ...spec, mock, model: 'mistral-small-latest' }));
  });
});
