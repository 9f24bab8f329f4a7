import { AnthropicMock } from '../../support/mock-providers/anthropic-mock';
import { OpenAiMock } from '../../support/mock-providers/openai-mock';
import { GROUPS_HEADER, useRoutingGateway } from './support/gateway';

/** Logical model names: resolution to targets, 404 for unknown names, per-group allow-lists, and the models list. */
describe('llm-proxy routing: logical models', () => {
  const openai = new OpenAiMock({ apiKey: 'k' });
  const anthropic = new AnthropicMock({ apiKey: 'ka' });
  const config = (extra: Record<string, unknown> = {}) => ({
    provider: 'openai',
    base_url: `${openai.url}/v1`,
    auth: { api_key: 'k' },
    models: [
      { name: 'primary-summarization', targets: [{ provider: 'openai', base_url: `${openai.url}/v1`, model: 'gpt-4o', auth: { api_key: 'k' } }] },
      {
        name: 'premium',
        allowed_groups: ['gold'],
        targets: [{ provider: 'anthropic', base_url: `${anthropic.url}/v1`, model: 'claude-sonnet-4-5', auth: { api_key: 'ka' } }],
      },
      { name: 'embed', targets: [{ provider: 'openai', base_url: `${openai.url}/v1`, model: 'text-embedding-3-small', auth: { api_key: 'k' } }] },
    ],
    ...extra,
  });
  const chat = (model: string) => ({ model, messages: [{ role: 'user', content: 'summarise this' }] });

  const env = useRoutingGateway([openai, anthropic], config);

  it('resolves a logical name to its target\'s provider and model', async () => {
    const r = await env.gw.call('/v1/chat/completions', chat('primary-summarization'));
    expect(r.status).toBe(200);
    expect((openai.requests[0].body as { model: string }).model).toBe('gpt-4o');
    expect(r.headers).toMatchObject({ 'x-llm-logical-model': 'primary-summarization', 'x-llm-model': 'gpt-4o' });
    const e = await env.gw.call('/v1/embeddings', { model: 'embed', input: 'hello' });
    expect(e.status).toBe(200);
    expect((openai.requests[1].body as { model: string }).model).toBe('text-embedding-3-small');
  });

  it('answers 404 model_not_found for an unknown name, in each client\'s format, without calling a provider', async () => {
    const r = await env.gw.call('/v1/chat/completions', chat('gpt-4o'));
    expect(r.status).toBe(404);
    expect(r.json.error).toMatchObject({ code: 'model_not_found', type: 'not_found_error' });
    expect(r.json.error.message).toContain('`gpt-4o`');
    const a = await env.gw.call('/v1/messages', { model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    expect(a.status).toBe(404);
    expect(a.json).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(openai.requests.length + anthropic.requests.length).toBe(0);
  });

  it('passes unknown names to the top-level provider when allow_unknown_models is set', async () => {
    env.gw.configure(config({ allow_unknown_models: true }));
    const r = await env.gw.call('/v1/chat/completions', chat('gpt-4o-mini'));
    expect(r.status).toBe(200);
    expect((openai.requests[0].body as { model: string }).model).toBe('gpt-4o-mini');
    expect(r.headers['x-llm-logical-model']).toBeUndefined();
  });

  it('answers 403 naming the model to a caller outside the allowed groups, whatever the request format', async () => {
    const r = await env.gw.call('/v1/chat/completions', chat('premium'), { [GROUPS_HEADER]: 'silver' });
    expect(r.status).toBe(403);
    expect(r.json.error).toMatchObject({ code: 'model_not_allowed', type: 'permission_error' });
    expect(r.json.error.message).toContain('`premium`');
    const a = await env.gw.call('/v1/messages', { model: 'premium', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, { 'anthropic-model': 'premium' });
    expect(a.status).toBe(403);
    expect(a.json).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    // a header naming another model changes nothing: the body's model is the one checked and routed
    const h = await env.gw.call('/v1/chat/completions', chat('premium'), { 'x-model': 'primary-summarization' });
    expect(h.status).toBe(403);
    expect(anthropic.requests).toHaveLength(0);
    const ok = await env.gw.call('/v1/chat/completions', chat('premium'), { [GROUPS_HEADER]: 'silver,gold' });
    expect(ok.status).toBe(200);
    expect(anthropic.requests).toHaveLength(1);
  });

  it('GET /v1/models lists only the names the caller may use, in OpenAI\'s list shape', async () => {
    const anyone = await env.gw.call('/v1/models');
    expect(anyone.status).toBe(200);
    expect(anyone.json).toMatchObject({ object: 'list' });
    expect(anyone.json.data.map((m: { id: string }) => m.id)).toEqual(['primary-summarization', 'embed']);
    expect(anyone.json.data[0]).toMatchObject({ object: 'model', owned_by: expect.any(String), created: expect.any(Number) });
    const gold = await env.gw.call('/v1/models', undefined, { [GROUPS_HEADER]: 'gold' });
    expect(gold.json.data.map((m: { id: string }) => m.id)).toEqual(['primary-summarization', 'premium', 'embed']);
    expect(openai.requests).toHaveLength(0);
  });
});
