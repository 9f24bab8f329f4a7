import { SuiteMetrics } from '../../../plugins/runtime/metrics';
import { emitUsageEvent } from '../../../plugins/runtime/usage-events';
import { HttpBatchSink } from '../../../plugins/runtime/usage-sinks/http-batch';
import { installUsageSinks, sinksFromEnv } from '../../../plugins/runtime/usage-sinks/from-env';
import { JsonLinesSink } from '../../../plugins/runtime/usage-sinks/json-lines';
import { RedisStreamSink } from '../../../plugins/runtime/usage-sinks/redis-stream';
import type { SinkStats, UsageSink } from '../../../plugins/runtime/usage-sinks/sink';
import { numberedEvent } from './events';

describe('sinksFromEnv', () => {
  it('installs nothing by default', () => {
    expect(sinksFromEnv({})).toEqual([]);
  });

  it('builds the sinks LLM_USAGE_SINKS names, each once', async () => {
    const sinks = sinksFromEnv({
      LLM_USAGE_SINKS: 'stdout, http,redis,http',
      LLM_USAGE_HTTP_URL: 'http://127.0.0.1:9/usage',
      LLM_USAGE_HTTP_AUTH_ENV: 'USAGE_TOKEN',
      USAGE_TOKEN: 'Bearer x',
      LLM_USAGE_REDIS_URL: 'redis://127.0.0.1:9',
    });
    try {
      expect(sinks.map((s) => s.constructor)).toEqual([JsonLinesSink, HttpBatchSink, RedisStreamSink]);
    } finally {
      await Promise.all(sinks.map((s) => s.close()));
    }
  });

  it.each([
    [{ LLM_USAGE_SINKS: 'kafka' }, /LLM_USAGE_SINKS/],
    [{ LLM_USAGE_SINKS: 'http' }, /LLM_USAGE_HTTP_URL is required/],
    [{ LLM_USAGE_SINKS: 'http', LLM_USAGE_HTTP_URL: 'ftp://x' }, /LLM_USAGE_HTTP_URL/],
    [{ LLM_USAGE_SINKS: 'http', LLM_USAGE_HTTP_URL: 'http://x', LLM_USAGE_HTTP_BATCH: '0' }, /LLM_USAGE_HTTP_BATCH/],
    [{ LLM_USAGE_SINKS: 'http', LLM_USAGE_HTTP_URL: 'http://x', LLM_USAGE_HTTP_AUTH_ENV: 'NOT_SET_ANYWHERE' }, /NOT_SET_ANYWHERE, which is not set/],
    [{ LLM_USAGE_SINKS: 'redis' }, /LLM_USAGE_REDIS_URL is required/],
    [{ LLM_USAGE_SINKS: 'redis', LLM_USAGE_REDIS_URL: 'localhost:6379' }, /LLM_USAGE_REDIS_URL/],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => sinksFromEnv(env)).toThrow(message);
  });
});

/** A sink that records what it is given. */
class RecordingSink implements UsageSink {
  readonly events: unknown[] = [];
  constructor(readonly name: string) {}
  write(event: unknown) {
    this.events.push(event);
  }
  async flush() {
    return true;
  }
  async close() {}
  stats(): SinkStats {
    return { delivered: this.events.length, dropped: 3, queued: 2, failures: 1 };
  }
}

describe('installUsageSinks', () => {
  it('feeds every usage event to each sink until closed, and the metrics endpoint shows their counts', async () => {
    const sink = new RecordingSink('test');
    const installed = installUsageSinks([sink]);
    const metrics = new SuiteMetrics(undefined, [], () => installed.stats());
    try {
      emitUsageEvent(numberedEvent(1));
      emitUsageEvent(numberedEvent(2));
      const text = await metrics.exposition();
      expect(text).toContain('llm_suite_usage_events_total{sink="test",outcome="delivered"} 2');
      expect(text).toContain('llm_suite_usage_events_total{sink="test",outcome="dropped"} 3');
      expect(text).toContain('llm_suite_usage_events_queued{sink="test"} 2');
      expect(text).toContain('llm_suite_usage_sink_failures_total{sink="test"} 1');
    } finally {
      metrics.close();
      await installed.close();
    }
    emitUsageEvent(numberedEvent(3));
    expect(sink.events).toHaveLength(2);
  });
});
