import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { usageLog } from '../support/usage-log';
import { KongEmulator } from '../support/kong-emulator/emulator';
import { OpenAiMock } from '../support/mock-providers/openai-mock';

/**
 * The official openai SDK → Kong emulator (key-auth, llm-pii-guard + llm-proxy over the real plugin-server protocol)
 * → relay → an OpenAI-wire mock that echoes the last user message ("Echo: …"), so the provider's view of the prompt
 * comes back in the answer. The same paths with the official Anthropic SDK (Messages API, translated by llm-proxy
 * into the common shape the guard scans) are at the end.
 */
const UPSTREAM_KEY = 'sk-upstream-pii-e2e';
const EMAIL = 'jane.roe@acme-corp.io';
const PHONE = '+44 20 7946 0958';

describe('llm-pii-guard end to end with the openai SDK', () => {
  let mock: OpenAiMock;
  let kong: KongEmulator;
  let dir: string;
  let usageLogFile: string;
  const sdk = (route: string) =>
    new OpenAI({ baseURL: `${kong.url}/${route}/v1`, apiKey: 'unused', defaultHeaders: { apikey: 'team-a-demo-key' }, maxRetries: 0 });
  const lastUsageEvent = () => usageLog(usageLogFile).last();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pii-e2e-'));
    usageLogFile = join(dir, 'usage.jsonl');
    mock = new OpenAiMock({ apiKey: UPSTREAM_KEY });
    const { url } = await mock.start();
    kong = await KongEmulator.start({
      config: join(__dirname, 'fixtures', 'kong.yaml'),
      env: { LLM_OPENAI_BASE_URL: `${url}/v1`, OPENAI_API_KEY: UPSTREAM_KEY },
      pluginServer: { env: { LLM_USAGE_LOG: usageLogFile } },
    });
  });
  afterAll(async () => {
    await kong?.stop();
    await mock?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => mock.reset());

  it('pseudonymizes the prompt for the provider and restores the originals in the JSON answer', async () => {
    const content = `Please contact ${EMAIL} or ${PHONE}; cc help@acme-corp.io`;
    const { data, response } = await sdk('guarded').chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }).withResponse();
    const sent = JSON.stringify(mock.requests[0].body);
    expect(sent).not.toContain(EMAIL);
    expect(sent).not.toContain('7946');
    expect(sent).toContain('<EMAIL_1>');
    expect(sent).toContain('help@acme-corp.io'); // allow-listed
    expect(data.choices[0].message.content).toBe(`Echo: ${content}`);
    expect(response.headers.get('x-llm-pii')).toBe('email=1;phone=1');
    const event = await lastUsageEvent();
    expect(event.pii).toMatchObject({ decision: 'allowed', detected: { email: 1, phone: 1 }, actions: { pseudonymize: 2 }, allowed: 1, restored: 2, blocked: false });
    expect(JSON.stringify(event)).not.toContain(EMAIL);
  });

  it('restores placeholders in a streamed answer', async () => {
    const content = `Mail ${EMAIL} and ${EMAIL} again, phone ${PHONE}`;
    const stream = await sdk('guarded').chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe(`Echo: ${content}`);
    expect(JSON.stringify(mock.requests[0].body)).not.toContain(EMAIL);
  });

  it('blocks a prompt with a secret: 400 naming the type, nothing sent to the provider', async () => {
    const key = `sk-proj-${'Zq7'.repeat(20)}`;
    const err = await sdk('guarded')
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `why does ${key} not work?` }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const e = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(e.status).toBe(400);
    expect(e.code).toBe('pii_detected');
    expect(e.message).toContain('secret');
    expect(e.message).not.toContain(key);
    expect(e.headers?.get('x-llm-pii')).toBe('secret=1');
    expect(mock.requests).toHaveLength(0);
    expect((await lastUsageEvent()).pii).toMatchObject({ blocked: true, detected: { secret: 1 } });
  });

  it('fails closed: a scan over its time budget answers 503 and forwards nothing', async () => {
    const content = `${'Reach jane.roe@acme-corp.io at +44 20 7946 0958 about order 118734. '.repeat(20_000)}`;
    const err = await sdk('fail-closed')
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as { status: number }).status).toBe(503);
    expect((err as { code: string }).code).toBe('pii_scan_failed');
    expect(mock.requests).toHaveLength(0);
    expect((await lastUsageEvent()).pii).toMatchObject({ failure: 'timeout' });
  });

  describe('with the official Anthropic SDK (Messages API)', () => {
    const anthropic = (route: string) =>
      new Anthropic({ baseURL: `${kong.url}/${route}`, apiKey: 'unused', defaultHeaders: { apikey: 'team-a-demo-key' }, maxRetries: 0 });
    const text = (m: Anthropic.Message) => m.content.map((b) => (b.type === 'text' ? b.text : '')).join('');

    it('pseudonymizes for the provider and restores the originals in the message', async () => {
      const content = `Please contact ${EMAIL} or ${PHONE}`;
      const message = await anthropic('guarded').messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content }] });
      expect(JSON.stringify(mock.requests[0].body)).not.toContain(EMAIL);
      expect(text(message)).toBe(`Echo: ${content}`);
    });

    it('restores placeholders in a streamed message', async () => {
      const content = `Mail ${EMAIL}, phone ${PHONE}`;
      const stream = anthropic('guarded').messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content }] });
      const message = await stream.finalMessage();
      expect(text(message)).toBe(`Echo: ${content}`);
      expect(JSON.stringify(mock.requests[0].body)).not.toContain(EMAIL);
    });

    it('blocks a secret with a 400 in Anthropic\'s error shape, nothing sent', async () => {
      const key = `sk-ant-api03-${'Qm9'.repeat(30)}`;
      const err = await anthropic('guarded')
        .messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: `is ${key} valid?` }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
      const e = err as InstanceType<typeof Anthropic.BadRequestError>;
      expect(e.status).toBe(400);
      expect(e.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      expect(e.message).toContain('secret');
      expect(e.message).not.toContain(key);
      expect(mock.requests).toHaveLength(0);
    });

    it('fails closed: 503 in Anthropic\'s error shape, nothing forwarded', async () => {
      const content = 'Reach jane.roe@acme-corp.io at +44 20 7946 0958 about order 118734. '.repeat(20_000);
      const err = await anthropic('fail-closed')
        .messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.InternalServerError);
      expect((err as { status: number }).status).toBe(503);
      expect((err as { error: unknown }).error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
      expect(mock.requests).toHaveLength(0);
    });
  });

  it('output scanning (block): a streamed answer with PII ends with content_filter, the PII withheld', async () => {
    const content = `${'word '.repeat(70)}tell ${EMAIL} hello ${'more '.repeat(70)}`;
    const stream = await sdk('output-block').chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], stream: true });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(JSON.stringify(mock.requests[0].body)).toContain(EMAIL); // log_only on the request side
    expect(text).not.toContain(EMAIL);
    expect(finish).toBe('content_filter');
  });
});
