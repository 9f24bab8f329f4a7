/**
 * llm-token-limit benchmark: tokenizer cost per prompt size, and CPU per check+reserve and per settle with the
 * local (memory) and redis policies. Run: npx tsc -p tsconfig.build.json && node dist/bench/llm-token-limit.js
 * (redis-server must be on PATH for the redis figures).
 */
import { tokenLimitStage } from '../plugins/llm-token-limit/stage';
import { tokenLimitSchema } from '../plugins/llm-token-limit/schema';
import { createStore } from '../plugins/runtime/store';
import type { Store } from '../plugins/runtime/store/types';
import type { Exchange } from '../plugins/runtime/relay/stage';
import { estimatePromptTokens } from '../plugins/runtime/tokenizer';
import { startRedisServer } from '../spec/support/redis-server';
import { PROMPTS } from '../spec/runtime/tokenizer/fixtures/prompts';
import { testExchange } from '../spec/support/exchange';

function promptOfSize(bytes: number): string {
  let text = '';
  for (let i = 0; Buffer.byteLength(text) < bytes; i++) text += `${PROMPTS[i % PROMPTS.length]}\n`;
  return text.slice(0, bytes);
}

function chatBody(bytes: number) {
  return { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'You are helpful.' }, { role: 'user', content: promptOfSize(bytes) }], max_tokens: 256 };
}

function cpuMicros(fn: () => void, iterations: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / iterations;
}

async function cpuMicrosAsync(fn: (i: number) => Promise<void>, iterations: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) await fn(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / iterations;
}

function exchange(body: Record<string, unknown>, consumer: string): Exchange {
  return testExchange(body, {
    identity: { consumer: { id: consumer }, consumerGroups: [] },
    forwarded: { path: '/v1/chat/completions', query: '', clientIp: '10.0.0.1' },
    rawBody: Buffer.alloc(0),
  });
}

async function limitFigures(label: string, store: Store): Promise<void> {
  const config = tokenLimitSchema.parse({
    limits: [
      { name: 'minute', limit: 1e12, window: 'minute', by: ['consumer'] },
      { name: 'day', limit: 1e12, window: 'day', by: ['consumer', 'model'], time_zone: 'Europe/Paris' },
    ],
  });
  const stage = tokenLimitStage(config, { store });
  const small = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 };
  const n = 5_000;
  const exchanges = Array.from({ length: n }, (_, i) => exchange(small, `c${i % 50}`));
  // warm-up
  for (let i = 0; i < 200; i++) await stage.onRequest!(exchange(small, 'warm'));
  const reserve = await cpuMicrosAsync(async (i) => void (await stage.onRequest!(exchanges[i])), n);
  for (const ex of exchanges) {
    ex.status = 200;
    ex.usage = { promptTokens: 9, completionTokens: 12, totalTokens: 21, estimated: false };
  }
  const settle = await cpuMicrosAsync(async (i) => void (await stage.onComplete!(exchanges[i])), n);
  const started = Date.now();
  await Promise.all(exchanges.slice(0, 1000).map((ex) => stage.onRequest!({ ...ex, pluginState: {}, annotations: {}, responseHeaders: {} })));
  const concurrentMs = Date.now() - started;
  console.log(
    `${label}: check+reserve (2 limits, tiny prompt) ${reserve.toFixed(1)} µs CPU; settle ${settle.toFixed(1)} µs CPU; ` +
      `1000 concurrent check+reserve in ${concurrentMs} ms wall`,
  );
}

async function main(): Promise<void> {
  console.log(`node ${process.version}`);
  // load the encodings once before measuring
  estimatePromptTokens(chatBody(100), 'gpt-4o');
  estimatePromptTokens(chatBody(100), 'gpt-4');
  for (const bytes of [2_048, 16_384, 102_400, 1_048_576]) {
    const body = chatBody(bytes);
    const iterations = Math.max(3, Math.floor(2_000_000 / bytes));
    const o200k = cpuMicros(() => estimatePromptTokens(body, 'gpt-4o'), iterations);
    const cl100k = cpuMicros(() => estimatePromptTokens(body, 'gpt-4'), iterations);
    const claude = cpuMicros(() => estimatePromptTokens(body, 'claude-sonnet-4-5'), iterations);
    const tokens = estimatePromptTokens(body, 'gpt-4o').tokens;
    console.log(
      `tokenize ${(bytes / 1024).toFixed(0)} KB chat (${tokens} tokens): o200k ${o200k.toFixed(0)} µs, cl100k ${cl100k.toFixed(0)} µs, anthropic approx ${claude.toFixed(0)} µs`,
    );
  }
  const memory = createStore({ type: 'memory' });
  await limitFigures('local policy (memory)', memory);
  await memory.close();
  let redis;
  try {
    redis = await startRedisServer();
  } catch (err) {
    console.log(`redis policy: skipped (${(err as Error).message})`);
    return;
  }
  const store = createStore({ type: 'redis', url: redis.url, keyPrefix: 'bench:' });
  for (let i = 0; i < 100; i++) {
    try {
      await store.get('probe');
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  await limitFigures('redis policy (loopback)', store);
  await store.close();
  await redis.stop();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
