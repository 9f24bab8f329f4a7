import OpenAI from 'openai';
import { AzureMock } from '../../support/mock-providers/azure-mock';
import { errorConformance } from '../conformance';
import { providerSpec } from '../relay-sdk';

/** The official openai SDK → relay (llm-proxy, provider azure) → the Azure OpenAI mock (api-key, deployments, content filter). */
const KEY = 'az-upstream-key';
const TOOL = { name: 'lookup', arguments: '{"id":42,"verbose":true}' };
const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: TOOL.name, parameters: { type: 'object', properties: { id: { type: 'number' } } } } }];

describe('openai SDK → llm-proxy → Azure OpenAI', () => {
  const mock = new AzureMock({ apiKey: KEY, tool: TOOL, blockedWord: 'forbidden', filteredWord: 'secret' });
  const spec = providerSpec(mock, (url) => ({ provider: 'azure', base_url: `${url}/openai`, auth: { api_key: KEY }, options: { azure: { deployment: 'chat-prod', api_version: '2024-10-21' } } }));
  beforeEach(() => void (mock.deployments.length = 0));

  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hello there friend' }];

  it('chat: the deployment URL with api-version and the api-key header; Azure\'s answer passes through', async () => {
    const { data, response } = await spec.client.chat.completions.create({ model: 'gpt-4o', messages }).withResponse();
    expect(data).toMatchObject({ model: 'gpt-4o-2024-08-06', choices: [{ message: { content: 'Echo: hello there friend' }, finish_reason: 'stop', content_filter_results: expect.any(Object) }], usage: { prompt_tokens: 3, completion_tokens: 4 } });
    expect(response.headers.get('x-llm-model')).toBe('gpt-4o-2024-08-06');
    const sent = mock.requests[0]!;
    expect([sent.path, sent.query.get('api-version')]).toEqual(['/openai/deployments/chat-prod/chat/completions', '2024-10-21']);
    expect(sent.headers['api-key']).toBe(KEY);
    expect(sent.headers.authorization).toBeUndefined();
  });

  it('the model names the deployment when none is configured', async () => {
    const byModel = spec.relay.openai({ ...spec.config, options: {} });
    await byModel.chat.completions.create({ model: 'my-4o-deployment', messages });
    expect(mock.deployments).toEqual(['my-4o-deployment']);
  });

  it('stream: the prompt-filter chunk does not blank the model; usage only with include_usage', async () => {
    for (const includeUsage of [false, true]) {
      const stream = await spec.client.chat.completions.create({ model: 'gpt-4o', messages, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) });
      let text = '';
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toBe('Echo: hello there friend');
      expect(usage).toEqual(includeUsage ? expect.objectContaining({ prompt_tokens: 3, completion_tokens: 4 }) : undefined);
    }
    expect(await spec.relay.event(spec.relay.events.length)).toMatchObject({ provider: 'azure', model: 'gpt-4o-2024-08-06', usage: { prompt_tokens: 3, completion_tokens: 4, estimated: false } });
  });

  it('content filter: a filtered prompt is a 400 with code content_filter, a filtered answer ends with finish_reason content_filter', async () => {
    const err = await spec.client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'something forbidden' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ status: 400, code: 'content_filter', message: expect.stringMatching(/content management policy/) });

    const cut = [{ role: 'user' as const, content: 'tell the secret now' }];
    const json = await spec.client.chat.completions.create({ model: 'gpt-4o', messages: cut });
    expect(json.choices[0]).toMatchObject({ finish_reason: 'content_filter', message: { content: 'Echo: tell the' } });
    let text = '';
    const finishes: string[] = [];
    for await (const chunk of await spec.client.chat.completions.create({ model: 'gpt-4o', messages: cut, stream: true })) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason);
    }
    expect([text, finishes]).toEqual(['Echo: tell the', ['content_filter']]);
  });

  it('tools: streamed arguments and the tool result round trip; JSON mode', async () => {
    const first = await spec.client.chat.completions.stream({ model: 'gpt-4o', messages, tools }).finalChatCompletion();
    const call = first.choices[0]!.message.tool_calls![0]!;
    expect(call).toMatchObject({ function: { name: TOOL.name, arguments: TOOL.arguments } });
    const answer = await spec.client.chat.completions.create({
      model: 'gpt-4o',
      tools,
      messages: [...messages, first.choices[0]!.message as OpenAI.ChatCompletionMessageParam, { role: 'tool', tool_call_id: call.id, content: 'found item 42' }],
    });
    expect(answer.choices[0]!.message.content).toBe('Echo: found item 42');
    const json = await spec.client.chat.completions.create({ model: 'gpt-4o', messages, response_format: { type: 'json_object' } });
    expect(JSON.parse(json.choices[0]!.message.content!)).toEqual({ echo: 'hello there friend' });
  });

  it('embeddings per deployment; the model list is a clear 404', async () => {
    const embeddings = spec.relay.openai({ ...spec.config, options: { azure: { deployment: 'embed-small' } } });
    const result = await embeddings.embeddings.create({ model: 'text-embedding-3-small', input: 'alpha beta' });
    expect(result.data[0]!.embedding).toHaveLength(64);
    expect(mock.deployments).toEqual(['embed-small']);
    await expect(spec.client.models.list()).rejects.toMatchObject({ status: 404, message: expect.stringMatching(/provider azure/) });
  });

  describe('provider failures', () => {
    errorConformance(() => ({ ...spec, mock, model: 'gpt-4o' }));
  });
});
