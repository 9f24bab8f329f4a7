import { request } from 'undici';
import { z } from 'zod';
import { ContextRegistry, type RequestContext } from '../../plugins/runtime/context';
import type { PluginDefinition } from '../../plugins/runtime/plugin-definition';
import { RelayServer, TICKET_HEADER } from '../../plugins/runtime/relay/relay-server';
import type { ChatChunk, ChunkHooks, RelayStage } from '../../plugins/runtime/relay/stage';
import { TicketBook } from '../../plugins/runtime/relay/tickets';
import { llmProxy } from '../../plugins/llm-proxy';
import { llmProxySchema } from '../../plugins/llm-proxy/schema';
import { OpenAiMock } from '../support/mock-providers/openai-mock';

/** A stage that upper-cases answers, holding one chunk back, and can stop the stream after N chunks. */
function shoutingStage(stopAfter?: number): RelayStage {
  return {
    plugin: 'llm-pii-guard',
    transformCompletion(_ex, completion) {
      for (const choice of completion.choices) choice.message.content = String(choice.message.content).toUpperCase();
    },
    chunkHooks(): ChunkHooks {
      let held: ChatChunk | undefined;
      let seen = 0;
      return {
        onChunk(chunk) {
          seen++;
          for (const choice of chunk.choices) if (choice.delta.content) choice.delta.content = choice.delta.content.toUpperCase();
          const out = held ? [held] : [];
          held = chunk;
          return { chunks: out, stop: stopAfter !== undefined && seen >= stopAfter };
        },
        flush() {
          const out = held ? [held] : [];
          held = undefined;
          return out;
        },
      };
    },
  };
}

describe('answer hooks of relay stages', () => {
  const contexts = new ContextRegistry();
  const tickets = new TicketBook<RequestContext>();
  const mock = new OpenAiMock({ apiKey: 'k', reply: 'one two three four five six seven eight' });
  let stopAfter: number | undefined;
  const shouting: PluginDefinition = {
    name: 'llm-pii-guard',
    version: '0.0.1',
    priority: 774,
    configSchema: z.object({}),
    access: async () => undefined,
    relayStage: () => shoutingStage(stopAfter),
  };
  const relay = new RelayServer(tickets, [shouting, llmProxy]);
  let relayUrl: string;
  let mockUrl: string;

  beforeAll(async () => {
    const { host, port } = await relay.listen();
    relayUrl = `http://${host}:${port}`;
    mockUrl = (await mock.start()).url;
  });
  afterAll(async () => {
    await relay.close();
    await mock.stop();
    tickets.close();
    contexts.close();
  });

  async function chat(stream: boolean) {
    const ctx = contexts.create();
    ctx.plugins.push({ name: 'llm-pii-guard', priority: 774, config: { n: Math.random() } }); // a fresh stage per test
    ctx.plugins.push({ name: 'llm-proxy', priority: 770, config: llmProxySchema.parse({ base_url: `${mockUrl}/v1`, auth: { api_key: 'k' } }) });
    ctx.identity = { consumerGroups: [] };
    const res = await request(`${relayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { [TICKET_HEADER]: tickets.issue(ctx) },
      body: JSON.stringify({ model: 'm', stream, messages: [{ role: 'user', content: 'x' }] }),
    });
    return res.body.text();
  }

  const streamedText = (text: string) =>
    text
      .split('\n\n')
      .filter((f) => f.startsWith('data: {'))
      .map((f) => JSON.parse(f.slice(6)).choices[0]?.delta?.content ?? '')
      .join('');

  it('lets a stage rewrite a non-streamed completion', async () => {
    stopAfter = undefined;
    const body = JSON.parse(await chat(false));
    expect(body.choices[0].message.content).toBe('ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT');
  });

  it('lets a stage rewrite and hold back streamed chunks, flushing them before [DONE]', async () => {
    stopAfter = undefined;
    const text = await chat(true);
    expect(streamedText(text)).toBe('ONE TWO THREE FOUR FIVE SIX SEVEN EIGHT');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(text.match(/\[DONE\]/g)).toHaveLength(1);
  });

  it('lets a stage stop the stream: well-formed end, one [DONE], the provider call stopped', async () => {
    stopAfter = 3;
    const text = await chat(true);
    expect(streamedText(text)).toBe('ONE TWO'); // role chunk, "ONE", "TWO" — the third is where it stopped
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(text.match(/\[DONE\]/g)).toHaveLength(1);
    expect(text).not.toContain('"error"');
  });
});
