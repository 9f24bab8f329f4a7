import { request } from 'undici';
import { OpenAiMock } from '../support/mock-providers/openai-mock';
import { startRedisServer, type RedisServer } from '../support/redis-server';
import { FAULT_UPSTREAM_KEY, startFaultGateway } from './support/fault-gateway';

/**
 * A client that goes away in the middle of a stream: the provider call is aborted, the tokens already streamed are
 * settled (limits and cost), and the rest of the reservation is given back.
 */
const WORDS = 200;
const MAX_TOKENS = 2_000;

describe('client disconnect mid-stream (Kong emulator, real plugin server, Redis)', () => {
  let redis: RedisServer;
  let mock: OpenAiMock;
  beforeAll(async () => {
    redis = await startRedisServer();
    mock = new OpenAiMock({ apiKey: FAULT_UPSTREAM_KEY, reply: Array.from({ length: WORDS }, (_, i) => `word${i}`).join(' '), chunkDelayMs: 20 });
    await mock.start();
  });
  afterAll(async () => {
    await mock.stop();
    await redis.stop();
  });

  it('aborts the upstream call, settles the streamed tokens and refunds the rest', async () => {
    const gateway = await startFaultGateway(mock, { redisPort: redis.port });
    try {
      const remaining = async () => {
        const res = await request(gateway.chatUrl, {
          method: 'POST',
          headers: gateway.headers,
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }], max_tokens: 4 }),
        });
        await res.body.text();
        expect(res.statusCode).toBe(200);
        return Number(res.headers['x-ai-ratelimit-remaining-minute-team-minute']);
      };
      // the limit is per calendar minute: start early in one, so that the test does not straddle two windows
      const second = new Date().getSeconds();
      if (second > 45) await new Promise((r) => setTimeout(r, (61 - second) * 1000));
      const before = await remaining();

      const controller = new AbortController();
      const res = await request(gateway.chatUrl, {
        method: 'POST',
        headers: gateway.headers,
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: 'tell me a long story' }] }),
        signal: controller.signal,
      });
      expect(res.statusCode).toBe(200);
      let received = '';
      try {
        for await (const chunk of res.body) {
          received += chunk.toString();
          if ((received.match(/"content":"/g) ?? []).length >= 10) controller.abort();
        }
      } catch {
        // the abort ends the iteration
      }
      await new Promise((r) => setTimeout(r, 500));
      expect(mock.unfinishedAnswers).toBe(1); // the provider's stream was cut by the gateway, not finished

      const events = await gateway.usageEvents();
      const streamEvent = events.find((e) => e.stream === true)!;
      expect(streamEvent).toBeDefined();
      expect(streamEvent.error_code).toBe('client_closed');
      // llm-proxy counted what was streamed (marked estimated); the limits settle on that figure
      expect(streamEvent.token_limit.settlement).toBe('usage');
      const completion = streamEvent.usage.completion_tokens;
      expect(completion).toBeGreaterThan(0);
      expect(completion).toBeLessThan(WORDS); // only what was streamed before the abort
      expect(streamEvent.usage.estimated).toBe(true);
      expect(streamEvent.cost.micro_usd).toBeGreaterThan(0);
      expect(streamEvent.cost.estimated).toBe(true);

      // the counter holds the ping before, the streamed part, and the ping now — not the 2,000-token reservation
      const after = await remaining();
      const used = before - after;
      const pingTokens = events.find((e) => e.stream === false)!.usage.total_tokens;
      expect(used).toBeLessThan(MAX_TOKENS);
      expect(used).toBeGreaterThanOrEqual(streamEvent.usage.total_tokens);
      expect(used).toBeLessThanOrEqual(streamEvent.usage.total_tokens + 2 * pingTokens + 8);
    } finally {
      await gateway.stop();
    }
  }, 30_000);
});
