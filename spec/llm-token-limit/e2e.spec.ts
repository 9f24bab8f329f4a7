import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { parseDeclarative } from '../../plugins/runtime/config/declarative';
import { KongEmulator } from '../support/kong-emulator/emulator';
import { OpenAiMock } from '../support/mock-providers/openai-mock';
import { startRedisServer, type RedisServer } from '../support/redis-server';

const UPSTREAM_KEY = 'sk-upstream-tl-e2e';
const FIXTURE = join(__dirname, 'fixtures', 'kong.yaml');

function kongConfig(policy: string) {
  return parseDeclarative(readFileSync(FIXTURE, 'utf8').replace('__POLICY__', policy), FIXTURE);
}

function sdk(kong: KongEmulator, key: string): OpenAI {
  return new OpenAI({ baseURL: `${kong.url}/openai/v1`, apiKey: 'unused', defaultHeaders: { apikey: key }, maxRetries: 0 });
}

const ask = (client: OpenAI, maxTokens = 8) =>
  client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }], max_tokens: maxTokens });

describe('llm-token-limit end to end: openai SDK → Kong emulator → plugin server', () => {
  let mock: OpenAiMock;
  beforeAll(async () => {
    mock = new OpenAiMock({ apiKey: UPSTREAM_KEY, reply: 'one two three four five six seven eight' });
    await mock.start();
  });
  afterAll(() => mock.stop());
  beforeEach(() => mock.reset());

  const env = () => ({ LLM_OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: UPSTREAM_KEY });

  it('the SDK gets a RateLimitError with the limit named, Retry-After and the rate-limit headers', async () => {
    const kong = await KongEmulator.start({ config: kongConfig('policy: local'), env: env() });
    try {
      const a = sdk(kong, 'team-a-key');
      const { response } = await ask(a).withResponse();
      expect(response.headers.get('x-ai-ratelimit-limit-minute-team-minute')).toBe('200');
      expect(Number(response.headers.get('x-ai-ratelimit-remaining-minute-team-minute'))).toBeLessThan(200);
      expect(response.headers.get('x-ai-ratelimit-limit-3600-global-requests')).toBeNull();
      expect(response.headers.get('x-ai-ratelimit-limit-hour-global-requests')).toBe('12');
      let error: unknown;
      for (let i = 0; i < 8 && !error; i++) error = await ask(a, 150).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      const e = error as InstanceType<typeof OpenAI.RateLimitError>;
      expect(e.status).toBe(429);
      expect(e.code).toBe('token_limit_exceeded');
      expect(e.message).toMatch(/^429 Token limit "team-minute" reached: 200 tokens per minute\. Retry after \d+ s$/);
      const retryAfter = Number(e.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(e.headers.get('x-ai-ratelimit-remaining-minute-team-minute')).not.toBeNull();
      // another consumer has its own per-consumer counter
      await expect(ask(sdk(kong, 'team-b-key'))).resolves.toMatchObject({ object: 'chat.completion' });
    } finally {
      await kong.stop();
    }
  });

  it('counts by consumer group on Kong Enterprise: members share the group\'s counter', async () => {
    const kong = await KongEmulator.start({ config: join(__dirname, 'fixtures', 'kong-groups.yaml'), env: env(), kongVersion: '3.10' });
    try {
      await ask(sdk(kong, 'team-a-key'));
      await ask(sdk(kong, 'team-b-key'));
      const error = await ask(sdk(kong, 'team-a-key')).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect((error as Error).message).toContain('Token limit "team-requests" reached: 2 requests per hour');
      // team-c has no group: counted by client IP, on a counter of its own
      await expect(ask(sdk(kong, 'team-c-key'))).resolves.toMatchObject({ object: 'chat.completion' });
      expect(mock.requests).toHaveLength(3);
    } finally {
      await kong.stop();
    }
  });

  describe('two Kong nodes (two plugin-server processes) sharing one Redis', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(() => redis.stop());

    it('enforce one global limit', async () => {
      const policy = `policy: redis\n              redis: { host: 127.0.0.1, port: ${redis.port}, key_prefix: "two-nodes:" }`;
      const nodes = await Promise.all([0, 1].map(() => KongEmulator.start({ config: kongConfig(policy), env: env() })));
      try {
        const clients = nodes.flatMap((node) => [sdk(node, 'team-a-key'), sdk(node, 'team-b-key')]);
        // 24 requests spread over both nodes and both consumers against global-requests = 12 per hour
        const outcomes = await Promise.all(
          Array.from({ length: 24 }, (_, i) => ask(clients[i % clients.length]).then(() => 'ok', (e: unknown) => (e instanceof OpenAI.RateLimitError ? e.message : String(e)))),
        );
        const ok = outcomes.filter((o) => o === 'ok').length;
        expect(ok).toBeGreaterThan(0);
        expect(ok).toBeLessThanOrEqual(12);
        expect(mock.requests).toHaveLength(ok);
        expect(outcomes.filter((o) => o !== 'ok').every((o) => /Token limit "(global-requests|team-minute)" reached/.test(o))).toBe(true);
        expect(outcomes.some((o) => o.includes('"global-requests"'))).toBe(true);
      } finally {
        await Promise.all(nodes.map((n) => n.stop()));
      }
    });
  });
});
