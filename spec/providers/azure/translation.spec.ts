import { azure } from '../../../plugins/providers/azure';
import { OpenAiChatStreamFilter } from '../../../plugins/providers/openai/stream';
import { feedStream, testTarget } from '../conformance';

const target = (azure: Record<string, unknown> = {}, model?: string) => testTarget('azure', 'https://res.openai.azure.com/openai/', { model, options: { azure } });

describe('azure: requests', () => {
  const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };

  it.each([
    ['the configured deployment', { deployment: 'prod-4o', api_version: '2025-01-01-preview' }, undefined, '/deployments/prod-4o/chat/completions?api-version=2025-01-01-preview'],
    ['the configured model', {}, 'gpt-4o-mini', '/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21'],
    ['the client\'s model', {}, undefined, '/deployments/gpt-4o/chat/completions?api-version=2024-10-21'],
  ])('chat goes to %s, with the api-key header and no Bearer', (_name, options, model, path) => {
    const { request } = azure.chatRequest(body, target(options, model));
    expect(request.url).toBe(`https://res.openai.azure.com/openai${path}`);
    expect(request.headers['api-key']).toBe('azure-key');
    expect(request.headers.authorization).toBeUndefined();
  });

  it('streams like OpenAI (usage asked upstream, filtered for the client); embeddings per deployment; no model list', () => {
    const { request, filter } = azure.chatRequest({ ...body, stream: true }, target({ deployment: 'd1' }));
    expect(JSON.parse(request.body!)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(filter).toBeInstanceOf(OpenAiChatStreamFilter);
    expect(azure.embeddingsRequest({ model: 'e', input: 'x' }, target({ deployment: 'emb' })).url).toBe('https://res.openai.azure.com/openai/deployments/emb/embeddings?api-version=2024-10-21');
    expect(() => azure.modelsRequest(target())).toThrow(expect.objectContaining({ status: 404, code: 'unsupported_api' }));
    expect(() => azure.chatRequest({ messages: [] }, target())).toThrow(expect.objectContaining({ status: 400 }));
  });

  it('keeps Azure\'s content_filter error code, reads its error envelope', () => {
    const filtered = { error: { message: 'The response was filtered', type: null, param: 'prompt', code: 'content_filter', status: 400, innererror: { code: 'ResponsibleAIPolicyViolation' } } };
    expect(azure.errorCode!(filtered)).toBe('content_filter');
    expect(azure.errorMessage(filtered)).toBe('The response was filtered');
    expect(azure.errorCode!({ error: { code: '429', message: 'Rate limit' } })).toBeUndefined();
    expect(azure.errorMessage({ error: { code: '401', message: 'Access denied' } })).toBe('Access denied');
  });
});

describe('azure: stream', () => {
  const promptFilter = `data: ${JSON.stringify({ choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] })}\n\n`;
  const chunk = (delta: object, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-2024-08-06', choices: [{ index: 0, delta, finish_reason: finish, content_filter_results: {} }], usage: null })}\n\n`;

  it('takes the model from the first real chunk, not the empty prompt-filter one; content_filter passes through', () => {
    const text = [promptFilter, chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hi' }), chunk({}, 'content_filter'), `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-2024-08-06', choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } })}\n\n`, 'data: [DONE]\n\n'].join('');
    const results = feedStream(new OpenAiChatStreamFilter(false), text, [10, 200, 201]);
    expect(results.find((r) => r.model)?.model).toBe('gpt-4o-2024-08-06');
    expect(results.filter((r) => r.forward).map((r) => r.forward).join('')).toContain('"finish_reason":"content_filter"');
    expect(results.find((r) => r.usage)).toMatchObject({ forward: null, usage: { promptTokens: 3, completionTokens: 1 } });
  });
});
