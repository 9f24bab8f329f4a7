import { z } from 'zod';
import { KongSchemaError, kongSchemaFor, kongSecret } from '../../../plugins/runtime/config/zod-to-kong';
import type { ConfigSource } from '../../../plugins/runtime/config/config-source';

const define = (configSchema: z.ZodType): ConfigSource => ({ name: 'llm-proxy', configSchema });

describe('kongSchemaFor', () => {
  it('converts a representative schema to Kong\'s schema DSL, fields in declaration order', () => {
    const schema = z
      .object({
        provider: z.enum(['openai', 'anthropic']).default('openai').describe('Provider the requests go to.'),
        api_key: kongSecret(z.string().min(8)).describe('API key sent to the provider.'),
        model: z.string().min(1).max(200).optional().describe('Model that replaces the client\'s.'),
        prefix: z.string().startsWith('/').nullable().describe('Path prefix of upstream calls.'),
        max_tokens: z.int().min(1).max(128000).default(1024).describe('Largest completion allowed.'),
        temperature: z.number().gt(0).lte(2).optional().describe('Sampling temperature sent upstream.'),
        budget: z.int().min(0).describe('Token budget per minute, 0 = none.'),
        streaming: z.boolean().default(true).describe('Whether streamed answers are allowed.'),
        limits: z
          .array(
            z.object({
              window_seconds: z.int().positive().describe('Length of the window in seconds.'),
              tokens: z.int().min(1).describe('Tokens allowed per window.'),
            }),
          )
          .min(1)
          .describe('Token limits, all enforced together.'),
        redis: z
          .object({
            host: z.string().default('127.0.0.1').describe('Host name of the Redis server.'),
            password: z.string().optional().meta({ description: 'Password of the Redis user.', kong: { referenceable: true } }),
          })
          .prefault({})
          .describe('Redis connection shared by all nodes.'),
        prices: z.record(z.string(), z.number().min(0)).default({}).describe('Price per million tokens, by model.'),
        tags: z.array(z.string()).optional().describe('Tags added to every log entry.'),
      })
      .refine((config) => config.budget >= 0, 'refinements stay offline');

    expect(kongSchemaFor(define(schema))).toEqual({
      name: 'llm-proxy',
      fields: [
        {
          config: {
            type: 'record',
            fields: [
              { provider: { type: 'string', required: false, default: 'openai', description: 'Provider the requests go to.', one_of: ['openai', 'anthropic'] } },
              { api_key: { type: 'string', required: true, description: 'API key sent to the provider.', len_min: 8, referenceable: true, encrypted: true } },
              { model: { type: 'string', required: false, description: 'Model that replaces the client\'s.', len_min: 1, len_max: 200 } },
              { prefix: { type: 'string', required: false, description: 'Path prefix of upstream calls.', starts_with: '/' } },
              { max_tokens: { type: 'integer', required: false, default: 1024, description: 'Largest completion allowed.', between: [1, 128000] } },
              { temperature: { type: 'number', required: false, description: 'Sampling temperature sent upstream.', gt: 0, between: [0, 2] } },
              { budget: { type: 'integer', required: true, description: 'Token budget per minute, 0 = none.', between: [0, Number.MAX_SAFE_INTEGER] } },
              { streaming: { type: 'boolean', required: false, default: true, description: 'Whether streamed answers are allowed.' } },
              {
                limits: {
                  type: 'array',
                  required: true,
                  description: 'Token limits, all enforced together.',
                  len_min: 1,
                  elements: {
                    type: 'record',
                    fields: [
                      { window_seconds: { type: 'integer', required: true, description: 'Length of the window in seconds.', between: [1, Number.MAX_SAFE_INTEGER] } },
                      { tokens: { type: 'integer', required: true, description: 'Tokens allowed per window.', between: [1, Number.MAX_SAFE_INTEGER] } },
                    ],
                  },
                },
              },
              {
                redis: {
                  type: 'record',
                  required: true, // a record defaulting to {}: Kong creates it with its fields' defaults
                  description: 'Redis connection shared by all nodes.',
                  fields: [
                    { host: { type: 'string', required: false, default: '127.0.0.1', description: 'Host name of the Redis server.' } },
                    { password: { type: 'string', required: false, description: 'Password of the Redis user.', referenceable: true } },
                  ],
                },
              },
              {
                prices: {
                  type: 'map',
                  required: false,
                  default: {},
                  description: 'Price per million tokens, by model.',
                  keys: { type: 'string' },
                  values: { type: 'number', between: [0, Number.MAX_VALUE] },
                },
              },
              { tags: { type: 'array', required: false, description: 'Tags added to every log entry.', elements: { type: 'string' } } },
            ],
          },
        },
      ],
    });
  });

  it('turns unions of literals into one_of and exclusive integer bounds into inclusive ones', () => {
    const schema = z.object({
      mode: z.union([z.literal('fast'), z.literal('cheap')]).describe('How targets are chosen.'),
      retries: z.int().gt(0).lt(10).describe('Retries after a failed call.'),
    });
    expect(kongSchemaFor(define(schema)).fields[0].config.fields).toEqual([
      { mode: { type: 'string', required: true, description: 'How targets are chosen.', one_of: ['fast', 'cheap'] } },
      { retries: { type: 'integer', required: true, description: 'Retries after a failed call.', between: [1, 9] } },
    ]);
  });

  it.each([
    ['missing', z.object({ nested: z.object({ host: z.string() }).describe('A nested record of settings.') }), 'config.nested.host: description missing'],
    ['too short', z.object({ host: z.string().describe('Host') }), 'config.host: description has 4 characters'],
    ['too long', z.object({ host: z.string().describe('x'.repeat(501)) }), 'config.host: description has 501 characters'],
  ])('rejects a description that is %s, naming the field', (_, schema, message) => {
    expect(() => kongSchemaFor(define(schema))).toThrow(KongSchemaError);
    expect(() => kongSchemaFor(define(schema))).toThrow(`llm-proxy: ${message}`);
  });

  it.each([
    [
      'a union of objects',
      z.object({
        targets: z
          .array(z.union([z.object({ a: z.string().describe('Field a of a target.') }), z.object({ b: z.string().describe('Field b of a target.') })]))
          .describe('Targets of the requests.'),
      }),
      'config.targets[]: unions cannot be expressed',
    ],
    ['a transform', z.object({ host: z.string().transform((s) => s.toLowerCase()).describe('Host of the server.') }), 'config.host: transforms and pipes'],
    ['a trim', z.object({ host: z.string().trim().describe('Host of the server.') }), 'config.host: transforms'],
    ['a loose object', z.object({ extra: z.looseObject({}).describe('Anything at all goes.') }), 'config.extra: objects accepting unknown keys'],
    ['an any', z.object({ blob: z.any().describe('Anything at all goes.') }), 'config.blob: zod type "any"'],
    ['a non-string secret', z.object({ port: z.int().meta({ description: 'Port of the server.', kong: { encrypted: true } }) }), 'config.port: only string fields'],
  ])('rejects %s, naming the field', (_, schema, message) => {
    expect(() => kongSchemaFor(define(schema))).toThrow(`llm-proxy: ${message}`);
  });
});
