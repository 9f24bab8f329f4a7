import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { UsageEvent } from '../../plugins/runtime/usage-events';
import { otlpTracesUrl } from '../../plugins/runtime/observability/tracing';
import { usageEvent } from './events';
import { OtlpReceiver } from './otlp-receiver';

const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;
const DIST = join(__dirname, '..', '..', 'dist', 'plugins', 'runtime');

/**
 * The exporter runs in a fresh node on the compiled modules, as in the plugin server: its HTTP transport loads node's
 * http with import(), which jest's module runtime does not allow.
 */
async function exportSpans(events: UsageEvent[], env: Record<string, string>): Promise<void> {
  const script = `
    const { installTracingFromEnv } = require(${JSON.stringify(join(DIST, 'observability', 'tracing.js'))});
    const { emitUsageEvent } = require(${JSON.stringify(join(DIST, 'usage-events.js'))});
    const tracing = installTracingFromEnv(process.env);
    for (const e of JSON.parse(process.env.EVENTS)) emitUsageEvent(e);
    tracing.shutdown().then(() => process.stdout.write('exported'));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { env: { PATH: process.env.PATH ?? '', EVENTS: JSON.stringify(events), ...env } });
  expect(stdout).toBe('exported');
}

describe('tracing: GenAI spans over OTLP/HTTP, derived from usage events', () => {
  let receiver: OtlpReceiver;
  let url: string;
  beforeAll(async () => {
    receiver = new OtlpReceiver();
    url = await receiver.start();
  });
  afterAll(() => receiver.stop());
  const send = (...events: UsageEvent[]) => exportSpans(events, { OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_SERVICE_NAME: 'llm-gw-test' });

  it('exports a SERVER span per request and a CLIENT span per provider call with the gen_ai.* attributes', async () => {
    const t0 = Date.now() - 1000;
    await send(
      usageEvent({
        request_id: 'trace-ok',
        time: new Date(t0).toISOString(),
        latency_ms: 250,
        model: 'gpt-4o-mini-2024-07-18',
        llm_proxy: { requested_model: 'gpt-4o-mini', finish_reasons: ['stop'], server_address: 'api.openai.com' },
        usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19, estimated: false },
      }),
    );
    const spans = await receiver.waitFor((s) => s.some((x) => x.attributes['llm.request_id'] === 'trace-ok'));
    const root = spans.find((s) => s.attributes['llm.request_id'] === 'trace-ok')!;
    const call = spans.find((s) => s.parentSpanId === root.spanId)!;
    expect(receiver.contentTypes[0]).toMatch(/application\/json/);
    expect(root).toMatchObject({ name: 'llm-relay chat', kind: SERVER, startMs: t0, endMs: t0 + 250, service: 'llm-gw-test' });
    expect(call).toMatchObject({ name: 'chat gpt-4o-mini', kind: CLIENT, traceId: root.traceId });
    expect(call.attributes).toEqual(
      expect.objectContaining({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
        'gen_ai.usage.input_tokens': 12,
        'gen_ai.usage.output_tokens': 7,
        'gen_ai.response.finish_reasons': ['stop'],
        'server.address': 'api.openai.com',
      }),
    );
    expect(call.attributes['error.type']).toBeUndefined();
    expect(call.status.code ?? 0).not.toBe(ERROR);
  });

  it('one CLIENT span per attempt when llm-proxy fell back, the failed one marked with error.type', async () => {
    await send(
      usageEvent({
        request_id: 'trace-fallback',
        latency_ms: 500,
        provider: 'anthropic',
        model: 'claude-3-5-haiku',
        llm_proxy: {
          attempts: [
            { provider: 'openai', model: 'gpt-4o-mini', status: 503, latency_ms: 100, reason: 'upstream_503' },
            { provider: 'anthropic', model: 'claude-3-5-haiku', status: 200, latency_ms: 300, server_address: 'api.anthropic.com' },
          ],
        },
      }),
    );
    const spans = await receiver.waitFor((s) => s.some((x) => x.attributes['llm.request_id'] === 'trace-fallback'));
    const root = spans.find((s) => s.attributes['llm.request_id'] === 'trace-fallback')!;
    const calls = spans.filter((s) => s.parentSpanId === root.spanId).sort((a, b) => Number(a.attributes['llm.attempt']) - Number(b.attributes['llm.attempt']));
    expect(calls.map((c) => [c.attributes['gen_ai.provider.name'], c.attributes['error.type'] ?? null, c.endMs - c.startMs])).toEqual([
      ['openai', 'upstream_503', 100],
      ['anthropic', null, 300],
    ]);
    expect(calls[0].status.code).toBe(ERROR);
    expect(calls[0].attributes['server.address']).toBeUndefined(); // not recorded for that attempt: left out, not guessed
    expect(calls[1].attributes).toMatchObject({ 'server.address': 'api.anthropic.com', 'gen_ai.usage.input_tokens': 10 });
    expect(calls[1].startMs).toBeGreaterThanOrEqual(calls[0].endMs);
  });

  it('a rejection is one SERVER span with no provider call; a provider error sets error.type and the error status', async () => {
    await send(
      usageEvent({ request_id: 'trace-blocked', status: 400, answered_by: 'llm-pii-guard', usage: undefined }),
      usageEvent({ request_id: 'trace-502', status: 502, error_code: 'upstream_error', usage: undefined }),
    );
    const spans = await receiver.waitFor((s) => s.some((x) => x.attributes['llm.request_id'] === 'trace-502'));
    const blocked = spans.find((s) => s.attributes['llm.request_id'] === 'trace-blocked')!;
    expect(blocked.attributes).toMatchObject({ 'llm.answered_by': 'llm-pii-guard', 'http.response.status_code': 400 });
    expect(spans.filter((s) => s.parentSpanId === blocked.spanId)).toHaveLength(0);
    const failed = spans.find((s) => s.attributes['llm.request_id'] === 'trace-502')!;
    const call = spans.find((s) => s.parentSpanId === failed.spanId)!;
    expect([failed.status.code, failed.attributes['error.type']]).toEqual([ERROR, 'upstream_error']);
    expect([call.status.code, call.attributes['error.type'], call.attributes['gen_ai.usage.input_tokens']]).toEqual([ERROR, 'upstream_error', undefined]);
  });

  it('picks the endpoint from LLM_OTLP_ENDPOINT or the standard OTEL_* variables, and is off without one', () => {
    expect(otlpTracesUrl({})).toBeUndefined();
    expect(otlpTracesUrl({ LLM_OTLP_ENDPOINT: 'http://c:4318/v1/traces' })).toBe('http://c:4318/v1/traces');
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toBe('http://c:4318/v1/traces');
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
  });

  it('with tracing off, the plugin server loads no OpenTelemetry module at all', () => {
    // the compiled module in a fresh node (jest's own module registry would hide what node loads)
    const script = `
      const { installTracingFromEnv } = require(${JSON.stringify(join(DIST, 'observability', 'tracing.js'))});
      const off = installTracingFromEnv({});
      const loaded = Object.keys(require.cache).filter((k) => k.includes('@opentelemetry'));
      process.stdout.write(JSON.stringify({ off: off === undefined, loaded }));`;
    const env = { PATH: process.env.PATH ?? '' };
    expect(JSON.parse(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }))).toEqual({ off: true, loaded: [] });
    const on = script.replace('installTracingFromEnv({})', "installTracingFromEnv({ LLM_OTLP_ENDPOINT: 'http://127.0.0.1:9/v1/traces' })") + ';off && off.shutdown()';
    const loadedWhenOn = JSON.parse(execFileSync(process.execPath, ['-e', on], { env, encoding: 'utf8' })).loaded as string[];
    expect(loadedWhenOn.some((k) => k.includes('exporter-trace-otlp-http'))).toBe(true);
  });
});
