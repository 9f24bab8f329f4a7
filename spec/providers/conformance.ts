import OpenAI from 'openai';
import { providerOptionsSchema } from '../../plugins/providers/options';
import { sseDecoder } from '../../plugins/providers/sse-decoder';
import type { ProviderTarget, StreamEventResult, StreamFilter } from '../../plugins/providers/types';
import type { ChatChunk } from '../../plugins/runtime/relay/stage';
import type { MockProviderServer } from '../support/mock-providers/mock-server';
import type { ProviderRelay } from './relay-sdk';

/** A provider target as resolveTarget builds it, for unit tests of an adapter's requests. */
export function testTarget(provider: string, baseUrl: string, overrides: { model?: string; options?: Record<string, unknown> } = {}): ProviderTarget {
  return { provider, baseUrl, apiKey: `${provider}-key`, model: overrides.model, timeouts: { connectMs: 1, firstByteMs: 1, idleMs: 1 }, options: providerOptionsSchema.parse(overrides.options ?? {}) };
}

/**
 * Shared conformance checks of a provider adapter, used by each provider's specs.
 * `feedStream`: a provider's SSE bytes through the real decoder and the adapter's filter, cut into pieces at the
 * given byte offsets (mid-line, mid-UTF-8 character), collecting every result.
 */
export function feedStream(filter: StreamFilter, text: string, cuts: number[] = []): StreamEventResult[] {
  const bytes = Buffer.from(text);
  const decoder = sseDecoder();
  const results: StreamEventResult[] = [];
  const onEvent = (data: string, event: string | undefined) => results.push(filter.onEvent(data, event));
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    decoder.feed(bytes.subarray(from, cut), onEvent);
    from = cut;
  }
  decoder.end(onEvent);
  return results;
}

export const chunksOf = (results: StreamEventResult[]): ChatChunk[] => results.flatMap((r) => r.chunks ?? []);
export const textOf = (chunks: ChatChunk[]): string => chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');

/** Every byte offset at which a cut falls inside a multi-byte UTF-8 character of `text`. */
export function midCharacterCuts(text: string): number[] {
  const bytes = Buffer.from(text);
  const cuts: number[] = [];
  for (let i = 1; i < bytes.length; i++) if ((bytes[i]! & 0xc0) === 0x80) cuts.push(i);
  return cuts;
}

/**
 * Provider failures through the relay as the official openai SDK sees them: the provider's 400/429/500 with their
 * status and message, its 401 as the gateway's 502, an HTML error page and a cut JSON answer as 502, a stream cut
 * midway as a well-formed error event the SDK throws.
 */
export function errorConformance(setup: () => { relay: ProviderRelay; mock: MockProviderServer; config: Record<string, unknown>; model: string }): void {
  const messages = [{ role: 'user' as const, content: 'hello there friend' }];
  const create = (stream = false) => {
    const { relay, config, model } = setup();
    const client = relay.openai(config);
    return stream ? client.chat.completions.create({ model, messages, stream: true }) : client.chat.completions.create({ model, messages });
  };
  const failure = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (err) {
      return err as InstanceType<typeof OpenAI.APIError>;
    }
    throw new Error('expected the call to fail');
  };

  it.each([
    [400, OpenAI.BadRequestError, /mock fault: injected status 400/],
    [500, OpenAI.InternalServerError, /mock fault: injected status 500/],
    [401, OpenAI.InternalServerError, /refused the gateway's credentials/],
    [429, OpenAI.RateLimitError, /mock fault: injected status 429/],
  ])('provider HTTP %i → typed SDK error with the provider\'s message', async (status, type, message) => {
    setup().mock.setFault({ status }, 1);
    const err = await failure(create());
    expect(err).toBeInstanceOf(type);
    expect(err.status).toBe(status === 401 ? 502 : status);
    expect(err.message).toMatch(message);
  });

  it('an HTML error page and a malformed JSON answer → 502 with a clear message', async () => {
    setup().mock.setFault({ status: 503, body: '<html><body><h1>503 Service Unavailable</h1></body></html>', contentType: 'text/html' }, 1);
    const html = await failure(create());
    expect(html.status).toBe(503);
    expect(html.message).toMatch(/answered HTTP 503 without an error message/);
    setup().mock.setFault({ malformed: true }, 1);
    const malformed = await failure(create());
    expect(malformed.status).toBe(502);
    expect(malformed.message).toMatch(/malformed JSON answer/);
  });

  it('a stream cut midway ends with an error event the SDK throws, after the text so far', async () => {
    setup().mock.setFault({ cutAfterChunks: 3 }, 1);
    const stream = await create(true);
    let text = '';
    const err = await failure(
      (async () => {
        for await (const chunk of stream as AsyncIterable<OpenAI.ChatCompletionChunk>) text += chunk.choices[0]?.delta?.content ?? '';
      })(),
    );
    expect(err.message).toMatch(/stream interrupted/);
    expect(text.length).toBeGreaterThan(0);
  });
}
