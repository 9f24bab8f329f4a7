import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { llmCostAttribution } from '../../../plugins/llm-cost-attribution';
import { llmPiiGuard } from '../../../plugins/llm-pii-guard';
import type { PiiReport } from '../../../plugins/llm-pii-guard/report';
import { llmTokenLimit } from '../../../plugins/llm-token-limit';
import type { LimitReport, TokenLimitAnnotation } from '../../../plugins/llm-token-limit/stage';
import type { PluginDefinition } from '../../../plugins/runtime/plugin-definition';
import type { AttemptRecord } from '../../../plugins/llm-proxy/routing/router';
import {
  LlmProxyAnnotationSchema,
  PiiAnnotationSchema,
  TokenLimitAnnotationSchema,
  UsageEventSchema,
  usageEventJsonSchema,
} from '../../../plugins/runtime/usage-sinks/event-schema';
import { OpenAiMock } from '../../support/mock-providers/openai-mock';
import { startRelayHarness } from '../../support/relay-harness';

const SCHEMA_FILE = join(__dirname, '../../../docs/usage-event.schema.json');

// Compile-time: every field a plugin's annotation type declares is in the published schema (fails tsc on drift).
type Missing<Annotation, Schema extends z.ZodType> = Exclude<keyof Annotation, keyof z.output<Schema>>;
const noneMissing = <T extends never>() => undefined as unknown as T;
noneMissing<Missing<PiiReport, typeof PiiAnnotationSchema>>();
noneMissing<Missing<TokenLimitAnnotation, typeof TokenLimitAnnotationSchema>>();
noneMissing<Missing<LimitReport, typeof TokenLimitAnnotationSchema.shape.limits.element>>();
noneMissing<Exclude<keyof AttemptRecord, keyof NonNullable<z.output<typeof LlmProxyAnnotationSchema>['attempts']>[number]>>();

describe('usage event JSON Schema', () => {
  it('docs/usage-event.schema.json is current (regenerate: UPDATE_USAGE_SCHEMA=1 npx jest spec/runtime/usage-sinks/event-schema)', () => {
    const current = `${JSON.stringify(usageEventJsonSchema(), null, 2)}\n`;
    if (process.env.UPDATE_USAGE_SCHEMA === '1') writeFileSync(SCHEMA_FILE, current);
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(current);
  });

  it('describes every field of the event and of the plugins’ annotations', () => {
    const schema = usageEventJsonSchema() as { properties: Record<string, { description?: string; properties?: object }> };
    for (const key of ['request_id', 'time', 'consumer', 'usage', 'latency_ms', 'token_limit', 'cost', 'pii', 'llm_proxy']) {
      expect(schema.properties).toHaveProperty(key);
    }
    for (const plugin of ['token_limit', 'cost', 'pii', 'llm_proxy']) expect(schema.properties[plugin].description).toMatch(/^Added by llm-/);
  });

  describe.each<[string, PluginDefinition, object, Record<string, unknown>]>([
    ['token_limit', llmTokenLimit, { limits: [{ name: 'hourly', limit: 10_000, window: 'hour' }] }, {}],
    ['cost', llmCostAttribution, { budgets: [{ name: 'daily', amount_usd: 1, period: 'day' }] }, {}],
    ['pii', llmPiiGuard, {}, { messages: [{ role: 'user', content: 'write to jane.doe@example.com please' }] }],
  ])('events the relay emits with the %s annotation', (annotationKey, plugin, pluginConfig, bodyOverrides) => {
    it('match the schema', async () => {
      const h = await startRelayHarness(plugin, new OpenAiMock({ apiKey: 'sk-up', reply: 'one two three' }));
      try {
        const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 20, ...bodyOverrides };
        await h.post({ pluginConfig, body, identity: { consumer: { id: 'c1', username: 'alice' }, consumerGroups: ['gold'] } });
        await h.post({ pluginConfig, body: { ...body, stream: true } });
        await h.completed(2);
        for (const event of h.events) {
          const result = UsageEventSchema.safeParse(event);
          expect(result.error?.issues ?? []).toEqual([]);
        }
        expect(h.events.every((e) => e[annotationKey] !== undefined)).toBe(true);
      } finally {
        await h.close();
      }
    });
  });
});
