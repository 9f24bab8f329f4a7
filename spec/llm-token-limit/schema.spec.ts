import { kongSchemaFor } from '../../plugins/runtime/config/zod-to-kong';
import { parsePluginConfig } from '../../plugins/runtime/config/normalize';
import { llmTokenLimit } from '../../plugins/llm-token-limit';
import { parseWindow } from '../../plugins/runtime/limits/windows';

describe('llm-token-limit configuration', () => {
  it('exports a Kong schema (no unions, every field described)', () => {
    const schema = kongSchemaFor(llmTokenLimit);
    const limits = schema.fields[0].config.fields.find((f) => 'limits' in f)!.limits;
    expect(limits.type).toBe('array');
    expect(limits.elements?.type).toBe('record');
  });

  it('accepts an empty config (no limits: the plugin only annotates) and fills defaults', () => {
    const parsed = parsePluginConfig(llmTokenLimit, {});
    expect(parsed.ok && parsed.config).toMatchObject({ limits: [], default_completion_tokens: 1024, policy: 'local', fail_mode: 'open', response_headers: true });
  });

  it('fills a limit\'s defaults and reads windows', () => {
    const parsed = parsePluginConfig(llmTokenLimit, { limits: [{ limit: 200_000, window: 'minute', by: ['consumer', 'model'] }] });
    expect(parsed.ok && parsed.config.limits[0]).toEqual({ limit: 200_000, window: 'minute', count: 'total', by: ['consumer', 'model'], time_zone: 'UTC' });
    expect(parseWindow('90s')).toBe(90);
    expect(parseWindow('month')).toBe('month');
  });

  it.each([
    [{ limits: [{ limit: 5, window: 'fortnight' }] }, 'limits[0].window'],
    [{ limits: [{ limit: 5, window: 'day', time_zone: 'Mars/Olympus' }] }, 'limits[0].time_zone'],
    [{ limits: [{ limit: 5, window: 'day', by: ['team'] }] }, 'limits[0].by[0]'],
    [{ limits: [{ limit: 0, window: 'day' }] }, 'limits[0].limit'],
    [{ limits: [{ limit: 5, window: 'day', name: 'has space' }] }, 'limits[0].name'],
    [{ limits: [{ limit: 5, window: 'day', name: 'Team' }, { limit: 9, window: 'hour', name: 'team' }] }, 'limits[1].name'],
  ])('rejects %j naming the field', (config, field) => {
    const parsed = parsePluginConfig(llmTokenLimit, config);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.issues.map((i) => i.path)).toContain(field);
  });

  it('asks llm-proxy for the credential and consumer groups only when a limit counts by them', () => {
    const needs = (limits: object[]) => {
      const parsed = parsePluginConfig(llmTokenLimit, { limits });
      if (!parsed.ok) throw new Error('bad config');
      return llmTokenLimit.identityNeeds!(parsed.config);
    };
    expect(needs([{ limit: 5, window: 'day', by: ['consumer', 'model'] }])).toEqual([]);
    expect(needs([{ limit: 5, window: 'day', by: ['credential'] }, { limit: 5, window: 'hour', by: ['consumer_group', 'model'] }])).toEqual([
      'credential',
      'consumer_groups',
    ]);
  });
});
