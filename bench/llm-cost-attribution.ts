/**
 * CPU per priced request through the llm-cost-attribution stage (reserve the worst case, settle, alerts check,
 * aggregates), memory store and Redis (LLM_REDIS_URL, default: skipped). Run: node dist/bench/llm-cost-attribution.js
 */
import { createStore } from '../plugins/runtime/store';
import { MemoryStore } from '../plugins/runtime/store/memory';
import type { Store } from '../plugins/runtime/store/types';
import type { Exchange } from '../plugins/runtime/relay/stage';
import { costStage } from '../plugins/llm-cost-attribution/stage';
import { costConfigSchema } from '../plugins/llm-cost-attribution/schema';
import { log } from '../plugins/runtime/logger';

const N = Number(process.env.N ?? 5000);
const CONCURRENCY = 32;

function exchange(i: number, stage: ReturnType<typeof costStage>): Exchange {
  const body = { model: 'gpt-4o', messages: [{ role: 'user', content: `summarise report number ${i} in three lines` }], max_tokens: 200 };
  return {
    ctx: { id: `b${i}-${Math.random()}`, createdAt: 0, plugins: [{ name: 'llm-proxy', priority: 770, config: { provider: 'openai' } }] },
    identity: { consumer: { id: `c${i % 50}`, username: `c${i % 50}` }, consumerGroups: ['g'], route: { id: 'r' }, service: { id: 's' } },
    forwarded: { path: '/v1/chat/completions', query: '' },
    api: 'openai-chat', errorFormat: 'openai', method: 'POST', headers: { 'x-team': `t${i % 5}` }, rawBody: Buffer.alloc(0), body,
    startedAt: Date.now(), signal: new AbortController().signal, responseHeaders: {}, stream: false, pluginState: {}, annotations: {}, stages: [stage],
  };
}

async function run(label: string, store: Store): Promise<void> {
  const config = costConfigSchema.parse({
    tags: [{ name: 'team', header: 'x-team' }],
    budgets: [
      { name: 'team', amount_usd: 1e6, period: 'day', by: ['tag:team'] },
      { name: 'consumer', amount_usd: 1e6, period: 'month', by: ['consumer'] },
    ],
    fail_mode: 'closed',
    store_timeout_ms: 5000,
  });
  const stage = costStage(config, { store });
  const one = async (i: number) => {
    const ex = exchange(i, stage);
    await stage.onRequest!(ex);
    ex.provider = 'openai';
    ex.model = 'gpt-4o';
    ex.usage = { promptTokens: 20, completionTokens: 150, totalTokens: 170, estimated: false };
    ex.status = 200;
    stage.beforeAnswer?.(ex); // settles a non-streamed answer before its headers (X-LLM-Cost-USD)
    await stage.onComplete!(ex);
  };
  for (let i = 0; i < 200; i++) await one(i); // warm-up
  const heap0 = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => { while (next < N) await one(next++); }));
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const cpuUs = (cpu.user + cpu.system) / N;
  console.log(`${label}: ${N} requests, ${cpuUs.toFixed(0)} µs CPU per request (reserve + settle + alerts + aggregates), ${(N / (wallMs / 1000)).toFixed(0)} req/s, heap +${((process.memoryUsage().heapUsed - heap0) / 1e6).toFixed(1)} MB`);
}

async function main(): Promise<void> {
  log.setLevel('error');
  const memory = new MemoryStore();
  await run('memory', memory);
  await memory.close();
  if (process.env.LLM_REDIS_URL) {
    const redis = createStore({ type: 'redis', url: process.env.LLM_REDIS_URL, keyPrefix: 'bench-cost:' });
    await new Promise((r) => setTimeout(r, 300));
    await run('redis', redis);
    await redis.close();
  } else console.log('redis: skipped (set LLM_REDIS_URL)');
}

void main();
