import { z } from 'zod';
import { isValidTimeZone, windowSchema } from '../runtime/limits/windows';
import { reservationFields, storePolicyFields } from '../runtime/store/plugin-store';

export const LIMIT_DIMENSIONS = ['consumer', 'consumer_group', 'credential', 'route', 'service', 'model', 'provider', 'ip'] as const;
const DIMENSION = /^(consumer|consumer_group|credential|route|service|model|provider|ip|header:[A-Za-z0-9!#$%&'*+.^_`|~-]+)$/;

const limitSchema = z.object({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional()
    .describe('Name of the limit, shown in 429 messages and in the X-AI-RateLimit-* header names (letters, digits, _ and -). Default: limit<position>.'),
  limit: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).describe('Most tokens (or requests, with count: requests) allowed per window.'),
  window: windowSchema.describe('minute, hour, day, week (from Monday) or month: calendar periods in time_zone; or a fixed number of seconds such as 90s.'),
  count: z
    .enum(['total', 'prompt', 'completion', 'requests'])
    .default('total')
    .describe('What the limit counts: total (prompt + completion) tokens, prompt tokens, completion tokens, or requests.'),
  by: z
    .array(z.string().regex(DIMENSION, 'by entries: consumer, consumer_group, credential, route, service, model, provider, ip or header:<name>'))
    .max(8)
    .default([])
    .describe('Who has a counter of their own: any combination of consumer, consumer_group, credential, route, service, model, provider, ip, header:<name>. Empty: one counter for everyone.'),
  time_zone: z
    .string()
    .default('UTC')
    .refine(isValidTimeZone, 'time_zone must be an IANA time zone such as Europe/Paris')
    .describe('IANA time zone in which calendar windows (day, week, month, …) start, e.g. Europe/Paris.'),
});

export const tokenLimitSchema = z
  .object({
    limits: z
      .array(limitSchema)
      .max(32)
      .default([])
      .describe('The limits. A request is checked against all of them and must fit in every one (all or nothing).'),
    default_completion_tokens: z
      .number()
      .int()
      .min(0)
      .max(10_000_000)
      .default(1024)
      .describe('Completion tokens reserved when the request sets neither max_completion_tokens nor max_tokens.'),
    response_headers: z
      .boolean()
      .default(true)
      .describe('Add X-AI-RateLimit-Limit/Remaining/Reset-<window>-<name> headers to every answer.'),
    ...storePolicyFields,
    ...reservationFields,
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.limits.forEach((limit, i) => {
      const name = (limit.name ?? `limit${i + 1}`).toLowerCase();
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['limits', i, 'name'], message: `limit name "${name}" is used twice (names are case-insensitive)` });
      seen.add(name);
    });
  });

export type TokenLimitConfig = z.infer<typeof tokenLimitSchema>;
export type LimitConfig = TokenLimitConfig['limits'][number];

