import { z } from 'zod';

const HostPort = z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65535) });

const TlsOptions = z.union([
  z.boolean(),
  z.strictObject({
    ca: z.string().optional(),
    rejectUnauthorized: z.boolean().optional(),
    servername: z.string().optional(),
  }),
]);

export const MemoryStoreOptionsSchema = z.strictObject({ type: z.literal('memory') });

export const RedisStoreOptionsSchema = z
  .strictObject({
    type: z.literal('redis'),
    url: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
    sentinels: z.array(HostPort).min(1).optional(),
    /** the Sentinel master name */
    name: z.string().min(1).optional(),
    cluster: z.array(HostPort).min(1).optional(),
    /** Braces are reserved: the prefix becomes the Cluster hash tag `{prefix}` of counters and reservations. */
    keyPrefix: z.string().regex(/^[^{}]+$/, 'must be non-empty and contain no { or }').default('llm:'),
    commandTimeoutMs: z.number().int().positive().default(500),
    connectTimeoutMs: z.number().int().positive().default(1000),
    username: z.string().optional(),
    password: z.string().optional(),
    tls: TlsOptions.optional(),
  })
  .superRefine((o, ctx) => {
    const modes = [o.url, o.sentinels, o.cluster].filter((mode) => mode !== undefined).length;
    if (modes !== 1) ctx.addIssue({ code: 'custom', message: 'set exactly one of url, sentinels or cluster' });
    if ((o.sentinels === undefined) !== (o.name === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'sentinels and name (the master name) go together' });
    }
  });

export const StoreOptionsSchema = z.discriminatedUnion('type', [MemoryStoreOptionsSchema, RedisStoreOptionsSchema]);

/** What callers write (defaults may be omitted). */
export type StoreOptions = z.input<typeof StoreOptionsSchema>;
/** After parsing: defaults filled in. */
export type RedisStoreOptions = z.output<typeof RedisStoreOptionsSchema>;
