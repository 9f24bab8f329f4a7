import type { Identity } from '../../plugins/runtime/context';
import type { Store } from '../../plugins/runtime/store/types';
import { llmCostAttribution } from '../../plugins/llm-cost-attribution';
import { costStage } from '../../plugins/llm-cost-attribution/stage';
import { OpenAiMock, type OpenAiMockOptions } from '../support/mock-providers/openai-mock';
import { startRelayHarness, type RelayAnswer, type RelayHarness } from '../support/relay-harness';

export { recordingStore } from '../support/relay-harness';

/** An OpenAI mock that records how long each chat call's handler ran: a stream the gateway aborted ends early. */
export class TimedOpenAiMock extends OpenAiMock {
  readonly handled: { path: string; ms: number }[] = [];
  protected override routes() {
    return super.routes().map((route) => ({
      ...route,
      handle: async (...args: Parameters<(typeof route)['handle']>) => {
        const started = Date.now();
        try {
          await route.handle(...args);
        } finally {
          this.handled.push({ path: args[0].path, ms: Date.now() - started });
        }
      },
    }));
  }
}

export interface CallOptions {
  costConfig: object;
  path?: '/v1/chat/completions' | '/v1/embeddings';
  body?: Record<string, unknown>;
  identity?: Partial<Identity>;
  headers?: Record<string, string>;
}

export interface CostHarness extends Omit<RelayHarness<TimedOpenAiMock>, 'post'> {
  call(opts: CallOptions): Promise<RelayAnswer>;
}

/**
 * The relay with the real llm-proxy and llm-cost-attribution stages in front of an OpenAI mock. With `store`, the cost
 * stage uses it (to read counters back); without, the registered plugin runs as in production (its policy's store).
 */
export async function startCostHarness(deps: { store?: Store } = {}, mockOptions: OpenAiMockOptions = {}): Promise<CostHarness> {
  const { store } = deps;
  const plugin = store ? { ...llmCostAttribution, relayStage: (c: unknown) => costStage(c as never, { store }) } : llmCostAttribution;
  const mock = new TimedOpenAiMock({ apiKey: 'sk-up', reply: 'one two three four five six', ...mockOptions });
  const harness = await startRelayHarness(plugin, mock);
  const defaults = { route: { id: 'r1', name: 'chat' }, service: { id: 's1', name: 'openai' } };
  return {
    ...harness,
    call: ({ costConfig, identity, body, ...call }) =>
      harness.post({
        pluginConfig: costConfig,
        identity: { ...defaults, ...identity },
        body: body ?? { model: 'gpt-4o', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 20 },
        ...call,
      }),
  };
}

/** The data frames of an SSE body, parsed (the `[DONE]` marker as the string itself). */
export function sseFrames(text: string): unknown[] {
  return text
    .split('\n\n')
    .map((f) => f.trim())
    .filter((f) => f.startsWith('data: '))
    .map((f) => (f === 'data: [DONE]' ? '[DONE]' : JSON.parse(f.slice(6))));
}
