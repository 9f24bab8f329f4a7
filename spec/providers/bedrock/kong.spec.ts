import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { KongEmulator } from '../../support/kong-emulator/emulator';
import { BedrockMock } from '../../support/mock-providers/bedrock-mock';
import { usageLog } from '../../support/usage-log';
import { CREDENTIALS, MODEL, REGION } from './relay-with-bedrock';

/** The documented kong.yaml (AWS keys as env vault references) through the Kong emulator and the built plugin server. */
describe('openai SDK → Kong emulator → llm-proxy (bedrock, keys from the vault) → Bedrock mock', () => {
  const mock = new BedrockMock({ region: REGION, credentials: CREDENTIALS, reply: 'from bedrock' });
  let kong: KongEmulator;
  let dir: string;
  let usageLogFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-bedrock-'));
    usageLogFile = join(dir, 'usage.jsonl');
    const { url } = await mock.start();
    kong = await KongEmulator.start({
      config: join(__dirname, 'fixtures', 'kong.yaml'),
      env: {
        LLM_BEDROCK_BASE_URL: url,
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
      },
      pluginServer: { env: { LLM_USAGE_LOG: usageLogFile } },
    });
  });
  afterAll(async () => {
    await kong?.stop();
    await mock.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers and streams with signed requests, and logs usage without the AWS secrets', async () => {
    const client = new OpenAI({ baseURL: `${kong.url}/bedrock/v1`, apiKey: 'unused', defaultHeaders: { 'x-api-key': 'team-a-demo-key' }, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }] });
    expect(completion.choices[0].message.content).toBe('from bedrock');
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hello' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('from bedrock');
    expect(mock.requests.map((r) => r.headers['x-amz-security-token'])).toEqual([CREDENTIALS.sessionToken, CREDENTIALS.sessionToken]);
    const event = await usageLog(usageLogFile).last();
    expect(event).toMatchObject({ provider: 'bedrock', model: MODEL, stream: true, usage: { prompt_tokens: 1, completion_tokens: 2, estimated: false } });
    expect(JSON.stringify(event)).not.toContain(CREDENTIALS.secretAccessKey);
  });
});
