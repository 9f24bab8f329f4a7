import { llmSemanticCache } from '../../plugins/llm-semantic-cache';
import { closeRedisIndexClients } from '../../plugins/llm-semantic-cache/redis-index';
import { OpenAiMock } from '../support/mock-providers/openai-mock';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { startRelayHarness, type RelayHarness } from '../support/relay-harness';
import { chat, consumer } from './helpers';

/** The plugin as configured in Kong (policy: redis, exact mode), in the relay; the store fails → the cache bypasses. */
describe('llm-semantic-cache with policy redis', () => {
  let redis: RedisServer;
  let h: RelayHarness<OpenAiMock>;
  let config: object;

  beforeAll(async () => {
    redis = await startRedisServer();
    config = { mode: 'exact', policy: 'redis', redis: { port: redis.port, key_prefix: 'relay-test:' }, store_timeout_ms: 100 };
    h = await startRelayHarness(llmSemanticCache, new OpenAiMock({ apiKey: 'sk-up' }));
  });
  afterAll(async () => {
    await h.close();
    await closeRedisIndexClients();
    await redis.stop();
  });

  const post = async (content: string) => {
    const n = h.events.length;
    const r = await h.post({ pluginConfig: config, body: chat(content), identity: consumer('alice') });
    await h.completed(n + 1);
    return { ...r, event: h.events.at(-1)! };
  };

  it('serves hits from Redis, and bypasses (never fails the request) while Redis is unreachable or hangs', async () => {
    // the first requests may come before the connection is up: they bypass, as when Redis is down
    let status = 'Bypass';
    for (let i = 0; i < 50 && status === 'Bypass'; i++) {
      status = (await post('warm-up')).headers['x-cache-status'];
      if (status === 'Bypass') await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe('Miss');
    expect((await post('Opening hours?')).headers['x-cache-status']).toBe('Miss');
    const hit = await post('Opening hours?');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.event.answered_by).toBe('llm-semantic-cache');

    redis.pause();
    try {
      const hung = await post('Opening hours?');
      expect(hung.status).toBe(200);
      expect(hung.headers['x-cache-status']).toBe('Bypass');
      expect(hung.event.cache).toMatchObject({ status: 'bypass', reason: 'store_unavailable' });
      expect(hung.json.choices[0].message.content).toMatch(/^Echo: Opening hours\?/);
    } finally {
      redis.resume();
    }
  });
});
