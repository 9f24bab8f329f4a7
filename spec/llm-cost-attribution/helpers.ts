import type { RegisteredPlugin } from '../../plugins/runtime/context';
import type { EarlyAnswer, Exchange, RelayStage, Usage } from '../../plugins/runtime/relay/stage';
import { costConfigSchema, type CostConfig } from '../../plugins/llm-cost-attribution/schema';
import { testExchange } from '../support/exchange';

let seq = 0;

export function costConfig(input: Record<string, unknown>): CostConfig {
  return costConfigSchema.parse(input);
}

export interface FakeRequest {
  consumer?: string;
  groups?: string[];
  headers?: Record<string, string>;
  body?: Record<string, unknown>;
  api?: Exchange['api'];
  provider?: string;
  proxyModel?: string;
}

/** An Exchange as the relay builds it, without HTTP: for driving a stage's hooks directly. */
export function fakeExchange(stage: RelayStage, req: FakeRequest = {}): Exchange {
  const body = req.body ?? { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 100 };
  const plugins: RegisteredPlugin[] = [{ name: 'llm-proxy', priority: 770, config: { provider: req.provider ?? 'openai', model: req.proxyModel } }];
  return testExchange(body, {
    ctx: { id: `req-${++seq}-${Math.random().toString(36).slice(2)}`, createdAt: Date.now(), plugins },
    identity: {
      consumer: req.consumer ? { id: `id-${req.consumer}`, username: req.consumer } : undefined,
      consumerGroups: req.groups ?? [],
      route: { id: 'r1', name: 'chat' },
      service: { id: 's1', name: 'openai' },
    },
    api: req.api ?? 'openai-chat',
    headers: req.headers ?? {},
    rawBody: Buffer.alloc(0),
    stages: [stage],
  });
}

export interface Outcome {
  early?: EarlyAnswer;
  ex: Exchange;
}

/**
 * What the relay does around one stage for a non-streamed call: onRequest; unless answered early, the provider
 * "answers" with `usage` (or fails with `fail`), beforeAnswer, then onComplete in every case.
 */
export async function runCall(stage: RelayStage, ex: Exchange, usage?: Usage, opts: { fail?: boolean; model?: string } = {}): Promise<Outcome> {
  const early = (await stage.onRequest?.(ex)) || undefined;
  if (early) {
    ex.status = early.status;
    ex.answeredBy = stage.plugin;
  } else if (opts.fail) {
    ex.provider = 'openai';
    ex.status = 502;
    ex.error = { code: 'upstream_unreachable', message: 'provider unreachable' };
  } else {
    ex.provider = 'openai';
    ex.model = opts.model ?? String(ex.body?.model);
    ex.usage = usage;
    ex.status = 200;
    stage.beforeAnswer?.(ex);
  }
  await stage.onComplete?.(ex);
  return { early, ex };
}

export const usage = (promptTokens: number, completionTokens: number, extra: Partial<Usage> = {}): Usage => ({
  promptTokens,
  completionTokens,
  totalTokens: promptTokens + completionTokens,
  estimated: false,
  ...extra,
});
