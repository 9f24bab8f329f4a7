import { join } from 'node:path';
import OpenAI from 'openai';
import { KongEmulator } from '../../support/kong-emulator/emulator';
import { OpenAiMock } from '../../support/mock-providers/openai-mock';

/** The shipped kong/kong.yaml's `routed` route (logical model `chat`, OpenAI then Anthropic) through the Kong emulator. */
describe('shipped kong.yaml: the routed example route', () => {
  const UPSTREAM_KEY = 'sk-upstream-routed-1';
  const mock = new OpenAiMock({ apiKey: UPSTREAM_KEY, reply: 'routed answer' });
  let kong: KongEmulator;
  let client: OpenAI;
  let kongLogs: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const { url } = await mock.start();
    kong = await KongEmulator.start({
      config: join(__dirname, '..', '..', '..', 'kong', 'kong.yaml'),
      env: { LLM_OPENAI_BASE_URL: `${url}/v1`, OPENAI_API_KEY: UPSTREAM_KEY },
    });
    kongLogs = kong.logs;
    client = new OpenAI({ baseURL: `${kong.url}/routed/v1`, apiKey: 'team-a-demo-key', maxRetries: 0 });
  });
  afterAll(async () => {
    await kong?.stop();
    await mock.stop();
  });

  it('serves the logical model chat from its first target, lists it, and refuses other names', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('routed answer');
    expect((mock.requests[0].body as { model: string }).model).toBe('gpt-4o-mini');
    expect(response.headers.get('x-llm-logical-model')).toBe('chat');
    expect(response.headers.get('x-llm-attempts')).toBe('1');
    // llm-cost-attribution priced the logical model at its first target's model (not refused as unpriced)
    expect(Number(response.headers.get('x-llm-cost-usd'))).toBeGreaterThan(0);
    expect(kongLogs.length).toBeGreaterThan(0);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['chat']);
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
  });
});
