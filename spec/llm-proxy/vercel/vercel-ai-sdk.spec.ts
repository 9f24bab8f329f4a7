import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { APICallError, embed, generateObject, generateText, stepCountIs, streamText, tool, type LanguageModel } from 'ai';
import { z } from 'zod';
import { AnthropicMock } from '../../support/mock-providers/anthropic-mock';
import { OpenAiMock } from '../../support/mock-providers/openai-mock';
import { OpenAiToolMock } from '../anthropic/openai-tool-mock';
import { startProxyRelay, type ProxyRelay } from '../responses/proxy-relay';

/**
 * The Vercel AI SDK (ai 6, @ai-sdk/openai 3, @ai-sdk/anthropic 3) → the relay's llm-proxy → the OpenAI and Anthropic
 * mocks. @ai-sdk/openai's default models call /v1/responses, `.chat()` models /v1/chat/completions; @ai-sdk/anthropic
 * calls /v1/messages.
 */
const REPLY = 'alpha beta gamma delta epsilon zeta';
const WEATHER = { city: 'Paris', days: 3 };
const JSON_ANSWER = JSON.stringify(WEATHER);

describe('Vercel AI SDK → llm-proxy', () => {
  const openai = new OpenAiMock({ apiKey: 'sk-oai', reply: (req) => (req.response_format ? JSON_ANSWER : REPLY) });
  const tools = new OpenAiToolMock({ name: 'get_weather', arguments: JSON_ANSWER });
  const anthropic = new AnthropicMock({ apiKey: 'sk-ant', reply: REPLY, toolUse: { name: 'get_weather', input: WEATHER } });
  let relay: ProxyRelay;

  const openAiConfig = () => ({ provider: 'openai', base_url: `${openai.url}/v1`, auth: { api_key: 'sk-oai' } });
  const toolsConfig = () => ({ provider: 'openai-compatible', base_url: `${tools.url}/v1` });
  const anthropicConfig = () => ({ provider: 'anthropic', base_url: `${anthropic.url}/v1`, auth: { api_key: 'sk-ant' } });
  const openAiSdk = (config: Record<string, unknown>) => createOpenAI({ baseURL: `${relay.url}/v1`, apiKey: 'unused', fetch: relay.fetchFor(config) });
  const anthropicSdk = (config: Record<string, unknown>) => createAnthropic({ baseURL: `${relay.url}/v1`, apiKey: 'unused', fetch: relay.fetchFor(config) });

  /**
   * The four ways in: which SDK model, for an upstream that answers text (`openai`) or calls the tool (`tools`), and
   * the final answer after the tool's result (the tool mock echoes it; the Anthropic mock answers its fixed reply).
   */
  const models: [string, (upstream: 'openai' | 'tools') => LanguageModel, string][] = [
    ['@ai-sdk/openai responses', (u) => openAiSdk(u === 'openai' ? openAiConfig() : toolsConfig())('gpt-4o-mini'), 'Echo: sunny in Paris'],
    ['@ai-sdk/openai .chat()', (u) => openAiSdk(u === 'openai' ? openAiConfig() : toolsConfig()).chat('gpt-4o-mini'), 'Echo: sunny in Paris'],
    ['@ai-sdk/anthropic → OpenAI provider', (u) => anthropicSdk(u === 'openai' ? openAiConfig() : toolsConfig())('claude-x'), 'Echo: sunny in Paris'],
    ['@ai-sdk/anthropic → Anthropic provider', () => anthropicSdk(anthropicConfig())('claude-x'), REPLY],
  ];

  beforeAll(async () => {
    // the SDK warns that it caps max tokens for model names it does not know (the mocks' ones)
    (globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;
    relay = await startProxyRelay([openai, tools, anthropic]);
  });
  afterAll(() => relay.close());
  beforeEach(() => relay.resetMocks());

  it.each(models)('generateText with %s: the text, finish reason and provider usage', async (_name, model) => {
    const result = await generateText({ model: model('openai'), system: 'Be brief.', prompt: 'Say the Greek letters', maxRetries: 0 });
    expect(result.text).toBe(REPLY);
    expect(result.finishReason).toBe('stop');
    expect(result.usage.outputTokens).toBe(6);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
  });

  it.each(models)('streamText with %s: the text in pieces, then usage', async (_name, model) => {
    const result = streamText({ model: model('openai'), prompt: 'Say the Greek letters', maxRetries: 0 });
    const pieces: string[] = [];
    for await (const piece of result.textStream) pieces.push(piece);
    expect(pieces.join('')).toBe(REPLY);
    expect(pieces.length).toBeGreaterThan(1);
    expect(await result.finishReason).toBe('stop');
    expect((await result.usage).outputTokens).toBe(6);
  });

  it.each(models)('a tool call with %s: streamed arguments, the tool run, its result sent back', async (_name, model, finalAnswer) => {
    const run = jest.fn(async ({ city }: { city: string; days: number }) => `sunny in ${city}`);
    const result = streamText({
      model: model('tools'),
      prompt: 'Weather in Paris?',
      tools: { get_weather: tool({ description: 'Weather forecast', inputSchema: z.object({ city: z.string(), days: z.number() }), execute: run }) },
      stopWhen: stepCountIs(2),
      maxRetries: 0,
    });
    const inputDeltas: string[] = [];
    for await (const part of result.fullStream) if (part.type === 'tool-input-delta') inputDeltas.push(part.delta);
    expect(inputDeltas.length).toBeGreaterThan(1);
    expect(JSON.parse(inputDeltas.join(''))).toEqual(WEATHER);
    expect(run).toHaveBeenCalledWith(WEATHER, expect.anything());
    const steps = await result.steps;
    expect(steps).toHaveLength(2);
    expect(steps[0].finishReason).toBe('tool-calls');
    expect(await result.text).toBe(finalAnswer);
    const secondRequest = JSON.stringify([...tools.requests, ...anthropic.requests].at(-1)!.body);
    expect(secondRequest).toContain('sunny in Paris');
  });

  it.each(models.slice(0, 2))('generateObject with %s: a JSON schema answer, sent upstream as response_format', async (_name, model) => {
    const { object } = await generateObject({ model: model('openai'), schema: z.object({ city: z.string(), days: z.number() }), prompt: 'Weather?', maxRetries: 0 });
    expect(object).toEqual(WEATHER);
    expect(openai.requests[0].body).toMatchObject({ response_format: { type: 'json_schema', json_schema: { schema: expect.objectContaining({ type: 'object' }) } } });
  });

  it('embed through /v1/embeddings', async () => {
    const { embedding, usage } = await embed({ model: openAiSdk(openAiConfig()).embedding('text-embedding-3-small'), value: 'hello embedding world', maxRetries: 0 });
    expect(embedding).toHaveLength(64);
    expect(usage.tokens).toBe(3);
    expect(openai.requests[0].path).toBe('/v1/embeddings');
  });

  it('a second turn of a Responses conversation: refused with a clear error while the SDK stores items, fine with store: false', async () => {
    const model = openAiSdk(openAiConfig())('gpt-4o-mini');
    const first = await generateText({ model, prompt: 'Say the Greek letters', maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'Say the Greek letters' }, ...first.response.messages, { role: 'user' as const, content: 'again' }];
    const refused = await generateText({ model, messages, maxRetries: 0 }).catch((e: unknown) => e);
    expect(APICallError.isInstance(refused)).toBe(true);
    expect((refused as APICallError).statusCode).toBe(400);
    expect((refused as APICallError).message).toMatch(/item_reference.*store = false/);

    const second = await generateText({ model, messages, providerOptions: { openai: { store: false } }, maxRetries: 0 });
    expect(second.text).toBe(REPLY);
    expect((openai.requests.at(-1)!.body as { messages: unknown[] }).messages).toEqual([
      { role: 'user', content: 'Say the Greek letters' },
      { role: 'assistant', content: REPLY },
      { role: 'user', content: 'again' },
    ]);
  });

  it.each(models)('a provider 429 is an APICallError with status 429 for %s', async (_name, model) => {
    openai.setFault({ status: 429 }, 1);
    anthropic.setFault({ status: 429 }, 1);
    const err = await generateText({ model: model('openai'), prompt: 'hi', maxRetries: 0 }).catch((e: unknown) => e);
    expect(APICallError.isInstance(err)).toBe(true);
    expect((err as APICallError).statusCode).toBe(429);
    expect((err as APICallError).isRetryable).toBe(true);
  });
});
