import { createParser } from 'eventsource-parser';
import { OpenAiMock } from '../../support/mock-providers/openai-mock';
import { useRoutingGateway } from './support/gateway';

function sse(text: string): { event?: string; data: string }[] {
  const out: { event?: string; data: string }[] = [];
  createParser({ onEvent: (e) => out.push({ event: e.event, data: e.data }) }).feed(text);
  return out;
}

/** Streams fail over only before their first byte; a failure after it ends the stream with a well-formed error. */
describe('llm-proxy routing: streams', () => {
  const primary = new OpenAiMock({ apiKey: 'k', reply: 'one two three four five six seven eight', chunkDelayMs: 5 });
  const backup = new OpenAiMock({ apiKey: 'k', reply: 'backup answer' });
  const stream = { model: 'm', stream: true, messages: [{ role: 'user', content: 'count' }] };
  const config = (primaryExtra: Record<string, unknown> = {}) => ({
    auth: { api_key: 'k' },
    models: [
      {
        name: 'm',
        targets: [
          { name: 'primary', provider: 'openai', base_url: `${primary.url}/v1`, auth: { api_key: 'k' }, ...primaryExtra },
          { name: 'backup', provider: 'openai', base_url: `${backup.url}/v1`, auth: { api_key: 'k' } },
        ],
      },
    ],
    retries: { max_attempts: 4, base_backoff_ms: 1, max_backoff_ms: 5 },
  });

  const env = useRoutingGateway([primary, backup], config);

  it('fails over a stream whose target fails before its first byte', async () => {
    primary.setFault({ status: 503 });
    const r = await env.gw.call('/v1/chat/completions', stream);
    expect(r.status).toBe(200);
    const events = sse(r.text);
    expect(events.at(-1)?.data).toBe('[DONE]');
    expect(events.map((e) => e.data).join('')).toContain('backup');
    expect(r.headers['x-llm-attempts']).toBe('2');
  });

  it('never retries once the stream began: a cut ends it with an OpenAI error event, and no other target is called', async () => {
    primary.setFault({ cutAfterChunks: 3 });
    const r = await env.gw.call('/v1/chat/completions', stream);
    expect(r.status).toBe(200);
    const events = sse(r.text);
    expect(events.length).toBeGreaterThanOrEqual(2);
    const last = JSON.parse(events.at(-1)!.data);
    expect(last.error).toMatchObject({ code: 'upstream_unreachable' });
    expect(last.error.message).toMatch(/stream interrupted/);
    for (const e of events.slice(0, -1)) expect(JSON.parse(e.data).choices).toBeDefined();
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(0);
    await env.gw.settled(1);
    expect(env.gw.events[0].llm_proxy).toMatchObject({ attempts: [{ target: 'primary', reason: 'upstream_unreachable' }] });
  });

  it('an Anthropic client gets a well-formed error event after message_start', async () => {
    primary.setFault({ cutAfterChunks: 3 });
    const r = await env.gw.call('/v1/messages', { model: 'm', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'count' }] });
    const events = sse(r.text);
    expect(events[0].event).toBe('message_start');
    expect(events.at(-1)?.event).toBe('error');
    expect(JSON.parse(events.at(-1)!.data)).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(backup.requests).toHaveLength(0);
  });

  it('cuts a stream at the target\'s total_ms with an error event, without failing over', async () => {
    env.gw.configure(config({ timeouts: { total_ms: 200 } }));
    primary.setFault({ chunkDelayMs: 80 });
    const r = await env.gw.call('/v1/chat/completions', stream);
    const last = JSON.parse(sse(r.text).at(-1)!.data);
    expect(last.error).toMatchObject({ code: 'upstream_timeout' });
    expect(last.error.message).toMatch(/did not finish within 200 ms/);
    expect(r.ms).toBeLessThan(2_000);
    expect(backup.requests).toHaveLength(0);
  });
});
