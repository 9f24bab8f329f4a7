import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { APICallError, generateText, streamText } from 'ai';
import { usageLog } from '../support/usage-log';
import { KongEmulator } from '../support/kong-emulator/emulator';
import { OpenAiMock } from '../support/mock-providers/openai-mock';

/**
 * The Vercel AI SDK with the shipped kong/kong.yaml: @ai-sdk/openai (Responses API by default) on the /openai route
 * and @ai-sdk/anthropic on the /claude route, both with a consumer's key, through the Kong emulator and the real
 * plugin-server process (all five plugins) to an OpenAI-wire mock.
 */
const UPSTREAM_KEY = 'sk-upstream-vercel-1';
const CONSUMER_KEY = 'team-a-demo-key';
const REPLY = 'alpha beta gamma delta epsilon zeta';

describe('Vercel AI SDK → Kong emulator (kong/kong.yaml) → llm-proxy', () => {
  const mock = new OpenAiMock({ apiKey: UPSTREAM_KEY, reply: REPLY });
  let kong: KongEmulator;
  let dir: string;
  let usageLogFile: string;

  beforeAll(async () => {
    (globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false; // unknown-model notices of @ai-sdk/anthropic
    dir = mkdtempSync(join(tmpdir(), 'llm-vercel-'));
    usageLogFile = join(dir, 'usage.jsonl');
    const { url } = await mock.start();
    kong = await KongEmulator.start({
      config: join(__dirname, '..', '..', 'kong', 'kong.yaml'),
      env: { LLM_OPENAI_BASE_URL: `${url}/v1`, OPENAI_API_KEY: UPSTREAM_KEY },
      pluginServer: { env: { LLM_USAGE_LOG: usageLogFile } },
    });
  });
  afterAll(async () => {
    await kong?.stop();
    await mock.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => mock.reset());

  const openai = () => createOpenAI({ baseURL: `${kong.url}/openai/v1`, apiKey: CONSUMER_KEY });
  const anthropic = () => createAnthropic({ baseURL: `${kong.url}/claude/v1`, apiKey: CONSUMER_KEY });

  it('generateText over the Responses API: the answer, usage, and a usage event for the consumer', async () => {
    const result = await generateText({ model: openai()('gpt-4o-mini'), prompt: 'Say the Greek letters', maxRetries: 0 });
    expect(result.text).toBe(REPLY);
    expect(result.usage).toMatchObject({ inputTokens: 4, outputTokens: 6 });
    expect(mock.requests[0].headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(await usageLog(usageLogFile).last()).toMatchObject({
      api: 'openai-responses',
      consumer: { username: 'team-a' },
      route: { name: 'openai' },
      usage: { prompt_tokens: 4, completion_tokens: 6, estimated: false },
    });
  });

  it('streamText over the Responses API and over Anthropic Messages', async () => {
    // prompts unlike the other tests' ones: the route's llm-semantic-cache would answer a similar prompt itself
    const calls = [
      { model: openai()('gpt-4o-mini'), prompt: 'Count slowly from one to six' },
      { model: anthropic()('claude-x'), prompt: 'Name six colours of the rainbow' },
    ];
    for (const { model, prompt } of calls) {
      const result = streamText({ model, prompt, maxRetries: 0 });
      let text = '';
      for await (const piece of result.textStream) text += piece;
      expect(text).toBe(REPLY);
      expect((await result.usage).outputTokens).toBe(6);
    }
    expect(mock.requests.map((r) => r.path)).toEqual(['/v1/chat/completions', '/v1/chat/completions']);
  });

  it('a provider 429 reaches the SDK as an APICallError with status 429', async () => {
    mock.setFault({ status: 429 });
    try {
      const err = await generateText({ model: openai()('gpt-4o-mini'), prompt: 'What is the capital of Peru?', maxRetries: 0 }).catch((e: unknown) => e);
      expect(APICallError.isInstance(err)).toBe(true);
      expect((err as APICallError).statusCode).toBe(429);
    } finally {
      mock.clearFault();
    }
  });
});
