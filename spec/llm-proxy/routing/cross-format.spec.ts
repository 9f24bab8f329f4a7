import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { AnthropicMock } from '../../support/mock-providers/anthropic-mock';
import { OpenAiMock } from '../../support/mock-providers/openai-mock';
import { useRoutingGateway } from './support/gateway';

/**
 * Fallback across API formats, seen through the official SDKs (their own retries off): an OpenAI-format request
 * fails over from OpenAI to Anthropic, an Anthropic-format one from Anthropic to OpenAI, and neither client notices.
 */
describe('llm-proxy routing: cross-format fallback through the official SDKs', () => {
  const openai = new OpenAiMock({ apiKey: 'k', reply: 'answered by the openai mock' });
  const anthropic = new AnthropicMock({ apiKey: 'ka', reply: 'answered by the anthropic mock' });
  const toOpenAi = () => ({ name: 'openai', provider: 'openai', base_url: `${openai.url}/v1`, model: 'gpt-4o-mini', auth: { api_key: 'k' } });
  const toAnthropic = () => ({ name: 'anthropic', provider: 'anthropic', base_url: `${anthropic.url}/v1`, model: 'claude-sonnet-4-5', auth: { api_key: 'ka' } });
  const config = () => ({
    auth: { api_key: 'k' },
    models: [
      { name: 'openai-first', targets: [toOpenAi(), toAnthropic()] },
      { name: 'anthropic-first', targets: [toAnthropic(), toOpenAi()] },
    ],
    retries: { base_backoff_ms: 1, max_backoff_ms: 5 },
  });
  const openaiSdk = () => new OpenAI({ baseURL: `${env.gw.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
  const anthropicSdk = () => new Anthropic({ baseURL: env.gw.url, apiKey: 'client-key', maxRetries: 0 });

  const env = useRoutingGateway([openai, anthropic], config);

  it('OpenAI SDK: OpenAI fails with 503, Anthropic answers a normal chat completion', async () => {
    openai.setFault({ status: 503 });
    const { data, response } = await openaiSdk()
      .chat.completions.create({ model: 'openai-first', messages: [{ role: 'user', content: 'hello' }] })
      .withResponse();
    expect(data.choices[0].message.content).toBe('answered by the anthropic mock');
    expect(data.choices[0].finish_reason).toBe('stop');
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-llm-provider')).toBe('anthropic');
    expect(response.headers.get('x-llm-attempts')).toBe('2');
    expect(anthropic.requests[0].path).toBe('/v1/messages');
  });

  it('OpenAI SDK stream: OpenAI refuses with 429, the stream comes from Anthropic in OpenAI chunks', async () => {
    openai.setFault({ status: 429 });
    const stream = await openaiSdk().chat.completions.create({ model: 'openai-first', stream: true, messages: [{ role: 'user', content: 'hello' }] });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish ??= chunk.choices[0]?.finish_reason;
    }
    expect(text).toBe('answered by the anthropic mock');
    expect(finish).toBe('stop');
  });

  it('Anthropic SDK: Anthropic is overloaded (529), OpenAI answers an Anthropic message', async () => {
    anthropic.setFault({ status: 529 });
    const message = await anthropicSdk().messages.create({ model: 'anthropic-first', max_tokens: 100, messages: [{ role: 'user', content: 'hello' }] });
    expect(message.type).toBe('message');
    expect(message.content).toEqual([{ type: 'text', text: 'answered by the openai mock' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(anthropic.requests).toHaveLength(1);
    expect(openai.requests[0].path).toBe('/v1/chat/completions');
  });

  it('Anthropic SDK stream: Anthropic fails with 500, OpenAI streams Anthropic events', async () => {
    anthropic.setFault({ status: 500 });
    const stream = anthropicSdk().messages.stream({ model: 'anthropic-first', max_tokens: 100, messages: [{ role: 'user', content: 'hello' }] });
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: 'answered by the openai mock' }]);
  });

  it('the SDKs parse the error when every target fails', async () => {
    openai.setFault({ status: 503 });
    anthropic.setFault({ status: 529 });
    await expect(openaiSdk().chat.completions.create({ model: 'openai-first', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(OpenAI.APIError);
    const err = await anthropicSdk()
      .messages.create({ model: 'anthropic-first', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
  });
});
