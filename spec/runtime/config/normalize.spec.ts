import { z } from 'zod';
import { formatIssues, parsePluginConfig } from '../../../plugins/runtime/config/normalize';
import type { ConfigSource } from '../../../plugins/runtime/config/config-source';

const def = {
  name: 'llm-proxy',
  configSchema: z.object({
    model: z.string().optional(),
    max_tokens: z.int().min(1).default(256),
    targets: z.array(z.object({ provider: z.enum(['openai', 'anthropic']), weight: z.int().optional() })),
    headers: z.record(z.string(), z.string()).optional(),
  }),
} satisfies ConfigSource;

/** What Kong adds to every config it sends at StartInstance. */
const kongKeys = {
  route_id: 'r1',
  service_id: null,
  consumer_id: null,
  consumer_group_id: null,
  plugin_instance_name: null,
  __plugin_id: 'p1',
  __ws_id: 'ws',
  __key__: 'plugins:llm-proxy:r1::::ws',
  __seq__: 3,
  protocols: ['http', 'https'],
};

describe('parsePluginConfig', () => {
  it('strips Kong\'s keys, turns nulls into absent fields and applies zod defaults', () => {
    const result = parsePluginConfig(def, {
      ...kongKeys,
      model: null,
      max_tokens: null,
      targets: [{ provider: 'openai', weight: null }],
      headers: null,
    });
    expect(result).toEqual({ ok: true, config: { max_tokens: 256, targets: [{ provider: 'openai' }] } });
  });

  it('rejects unknown fields at any depth, with their path', () => {
    const result = parsePluginConfig(def, { ...kongKeys, bogus: 1, targets: [{ provider: 'openai' }, { provider: 'anthropic', colour: 'red' }] });
    expect(result).toEqual({
      ok: false,
      issues: [
        { path: 'bogus', message: 'unknown field' },
        { path: 'targets[1].colour', message: 'unknown field' },
      ],
    });
  });

  it('reports wrong values and missing required fields with their path', () => {
    const result = parsePluginConfig(def, { ...kongKeys, max_tokens: 0, targets: [{ provider: 'azure' }] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatIssues(result.issues).split('\n')).toEqual([
      'max_tokens: Too small: expected number to be >=1',
      'targets[0].provider: Invalid option: expected one of "openai"|"anthropic"',
    ]);
    const missing = parsePluginConfig(def, {});
    expect(missing).toEqual({ ok: false, issues: [{ path: 'targets', message: 'required field is missing' }] });
  });

  it('rejects a config that is not an object', () => {
    expect(parsePluginConfig(def, [1])).toEqual({ ok: false, issues: [{ path: '', message: 'the plugin config must be an object' }] });
    expect(formatIssues([{ path: '', message: 'the plugin config must be an object' }])).toBe('the plugin config must be an object');
  });
});
