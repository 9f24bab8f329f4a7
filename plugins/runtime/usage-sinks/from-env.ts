import { z } from 'zod';
import { log } from '../logger';
import { onUsageEvent } from '../usage-events';
import { HttpBatchSink } from './http-batch';
import { JsonLinesSink } from './json-lines';
import { RedisStreamSink } from './redis-stream';
import type { SinkStats, UsageSink } from './sink';

const count = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const SINK_NAMES = ['stdout', 'http', 'redis'] as const;

/** The plugin server's environment, as far as usage sinks go (documented in docs/usage-events.md). */
export const UsageSinkEnvSchema = z.object({
  LLM_USAGE_SINKS: z
    .string()
    .default('')
    .transform((list) => [...new Set(list.split(',').map((s) => s.trim()).filter(Boolean))])
    .pipe(z.array(z.enum(SINK_NAMES))),
  LLM_USAGE_HTTP_URL: z.url({ protocol: /^https?$/ }).optional(),
  LLM_USAGE_HTTP_BATCH: count(100),
  LLM_USAGE_HTTP_INTERVAL_MS: count(1_000),
  LLM_USAGE_HTTP_MAX_BUFFER: count(10_000),
  LLM_USAGE_HTTP_TIMEOUT_MS: count(5_000),
  /** The NAME of the variable holding the Authorization header value, so the secret itself stays out of this list. */
  LLM_USAGE_HTTP_AUTH_ENV: z.string().min(1).optional(),
  LLM_USAGE_REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
  LLM_USAGE_REDIS_STREAM: z.string().min(1).default('llm:usage'),
  LLM_USAGE_REDIS_MAXLEN: count(1_000_000),
  LLM_USAGE_REDIS_MAX_BUFFER: count(10_000),
  LLM_USAGE_REDIS_TIMEOUT_MS: count(1_000),
});
export type UsageSinkEnv = z.output<typeof UsageSinkEnvSchema>;

const RETRY = { retryBaseMs: 200, retryMaxMs: 30_000 };

/** Builds the sinks LLM_USAGE_SINKS names; throws with the variable's name when the configuration is wrong. */
export function sinksFromEnv(env: NodeJS.ProcessEnv = process.env): UsageSink[] {
  const parsed = UsageSinkEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`usage sinks: ${issue.path.join('.')}: ${issue.message}`);
  }
  const c = parsed.data;
  return c.LLM_USAGE_SINKS.map((name): UsageSink => {
    switch (name) {
      case 'stdout':
        return new JsonLinesSink('stdout', process.stdout);
      case 'http':
        return new HttpBatchSink({
          url: required(c.LLM_USAGE_HTTP_URL, 'LLM_USAGE_HTTP_URL', name),
          authorization: authorizationFrom(env, c.LLM_USAGE_HTTP_AUTH_ENV),
          timeoutMs: c.LLM_USAGE_HTTP_TIMEOUT_MS,
          batchSize: c.LLM_USAGE_HTTP_BATCH,
          intervalMs: c.LLM_USAGE_HTTP_INTERVAL_MS,
          maxBuffer: c.LLM_USAGE_HTTP_MAX_BUFFER,
          ...RETRY,
        });
      case 'redis':
        return new RedisStreamSink({
          url: required(c.LLM_USAGE_REDIS_URL, 'LLM_USAGE_REDIS_URL', name),
          stream: c.LLM_USAGE_REDIS_STREAM,
          maxLen: c.LLM_USAGE_REDIS_MAXLEN,
          maxBuffer: c.LLM_USAGE_REDIS_MAX_BUFFER,
          batchSize: 100,
          intervalMs: 0,
          commandTimeoutMs: c.LLM_USAGE_REDIS_TIMEOUT_MS,
          connectTimeoutMs: c.LLM_USAGE_REDIS_TIMEOUT_MS,
          retryBaseMs: 100,
          retryMaxMs: 2_000,
        });
    }
  });
}

function required(value: string | undefined, variable: string, sink: string): string {
  if (!value) throw new Error(`usage sinks: ${variable} is required with LLM_USAGE_SINKS=${sink}`);
  return value;
}

function authorizationFrom(env: NodeJS.ProcessEnv, variable: string | undefined): string | undefined {
  if (!variable) return undefined;
  const value = env[variable];
  if (!value) throw new Error(`usage sinks: LLM_USAGE_HTTP_AUTH_ENV names ${variable}, which is not set`);
  return value;
}

/** The sinks subscribed to the process's usage events, as the plugin server holds them. */
export interface InstalledSinks {
  stats(): Record<string, SinkStats>;
  /** Waits (at most timeoutMs overall) for every sink to deliver what it holds. */
  flush(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export function installUsageSinks(sinks: UsageSink[]): InstalledSinks {
  const unsubscribe = sinks.map((sink) => onUsageEvent((e) => sink.write(e)));
  if (sinks.length > 0) log.info('usage sinks ready', { sinks: sinks.map((s) => s.name).join(',') });
  return {
    stats: () => Object.fromEntries(sinks.map((s) => [s.name, s.stats()])),
    async flush(timeoutMs) {
      const results = await Promise.all(sinks.map((s) => s.flush(timeoutMs)));
      sinks.forEach((s, i) => {
        if (!results[i]) log.warn('usage_sink.flush_incomplete', { sink: s.name, queued: s.stats().queued });
      });
    },
    async close() {
      for (const off of unsubscribe) off();
      await Promise.all(sinks.map((s) => s.close()));
    },
  };
}

/** Only `serve` calls this: the query command (`dump`) must never write to stdout. */
export function installUsageSinksFromEnv(env: NodeJS.ProcessEnv = process.env): InstalledSinks {
  return installUsageSinks(sinksFromEnv(env));
}
