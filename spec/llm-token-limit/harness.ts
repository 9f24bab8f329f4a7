import type { Identity } from '../../plugins/runtime/context';
import type { Store } from '../../plugins/runtime/store/types';
import { llmTokenLimit, tokenLimitStage } from '../../plugins/llm-token-limit';
import { OpenAiMock, type OpenAiMockOptions } from '../support/mock-providers/openai-mock';
import { startRelayHarness, type RelayAnswer, type RelayHarness } from '../support/relay-harness';

export { recordingStore } from '../support/relay-harness';

export interface Harness extends Omit<RelayHarness<OpenAiMock>, 'post'> {
  /** POSTs a chat request through the relay with llm-proxy + llm-token-limit(config) registered. */
  chat(opts: { limitConfig: object; body?: Record<string, unknown>; identity?: Partial<Identity>; headers?: Record<string, string> }): Promise<RelayAnswer>;
}

/** The relay with the real llm-proxy and llm-token-limit stages (the latter with an injected store and clock). */
export async function startHarness(deps: { store: Store; now?: () => number }, mockOptions: OpenAiMockOptions = {}): Promise<Harness> {
  const plugin = { ...llmTokenLimit, relayStage: (c: unknown) => tokenLimitStage(c as never, deps) };
  const mock = new OpenAiMock({ apiKey: 'sk-up', reply: 'one two three four five six seven eight', ...mockOptions });
  const harness = await startRelayHarness(plugin, mock);
  return { ...harness, chat: ({ limitConfig, ...call }) => harness.post({ pluginConfig: limitConfig, ...call }) };
}

/** Waits until a Redis store has connected (it rejects calls at once while connecting). */
export async function untilReady(store: Store): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await store.get('ready-probe');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error('store not ready within 2 s');
}
