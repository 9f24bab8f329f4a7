import gpt4o from 'gpt-tokenizer/cjs/model/gpt-4o';
import gpt4 from 'gpt-tokenizer/cjs/model/gpt-4';
import { countTextTokens, estimatePromptTokens, expectedCompletionTokens, familyOf, IMAGE_LOW_DETAIL_TOKENS, IMAGE_TOKENS } from '../../../plugins/runtime/tokenizer';
import { PROMPTS } from './fixtures/prompts';

const plain = { disallowedSpecial: new Set<string>() };

describe('tokenizer: OpenAI models are counted exactly', () => {
  it('maps model names to their encoding and family', () => {
    expect(familyOf('gpt-4o-mini')).toMatchObject({ family: 'openai', encoding: 'o200k_base' });
    expect(familyOf('openai/gpt-4.1-2099-01-01')).toMatchObject({ family: 'openai', encoding: 'o200k_base' });
    expect(familyOf('gpt-4-0613')).toMatchObject({ family: 'openai', encoding: 'cl100k_base' });
    expect(familyOf('gpt-3.5-turbo')).toMatchObject({ family: 'openai', encoding: 'cl100k_base' });
    expect(familyOf('o3-mini')).toMatchObject({ family: 'openai', encoding: 'o200k_base' });
    expect(familyOf('gpt-oss-20b')).toMatchObject({ family: 'openai', encoding: 'o200k_base' });
    expect(familyOf('claude-sonnet-4-5').family).toBe('anthropic');
    expect(familyOf('anthropic/claude-3-haiku').family).toBe('anthropic');
    expect(familyOf('gemini-2.5-pro').family).toBe('gemini');
    expect(familyOf('mistral-large-latest').family).toBe('mistral');
    expect(familyOf('llama-3.1-70b').family).toBe('other');
  });

  it('counts text exactly as the reference encodings do, special-token look-alikes as plain text', () => {
    for (const prompt of PROMPTS) {
      expect(countTextTokens(prompt, 'gpt-4o')).toBe(gpt4o.countTokens(prompt, plain));
      expect(countTextTokens(prompt, 'gpt-4')).toBe(gpt4.countTokens(prompt, plain));
    }
    expect(countTextTokens('', 'gpt-4o')).toBe(0);
  });

  it('counts chat requests with message overhead exactly as the reference chat encoding does', () => {
    for (const prompt of PROMPTS) {
      const messages = [
        { role: 'system' as const, content: 'You are a careful assistant.' },
        { role: 'user' as const, content: prompt },
      ];
      const estimate = estimatePromptTokens({ model: 'gpt-4o', messages }, 'gpt-4o');
      expect(estimate).toEqual({ tokens: gpt4o.encodeChat(messages, 'gpt-4o', plain).length, exact: true, family: 'openai' });
      expect(estimate.tokens).toBe(gpt4o.countChatCompletionTokens!({ messages }));
      expect(estimatePromptTokens({ messages }, 'gpt-4').tokens).toBe(gpt4.encodeChat(messages, 'gpt-4', plain).length);
    }
  });

  it('counts names, text parts, tool definitions and tool choice as the reference does', () => {
    const weather = {
      name: 'get_weather',
      description: 'Current weather in a city',
      parameters: {
        type: 'object' as const,
        properties: { city: { type: 'string' as const, description: 'City name' }, unit: { type: 'string' as const, enum: ['c', 'f'] } },
        required: ['city'],
      },
    };
    const reference = gpt4o.countChatCompletionTokens!({
      messages: [
        { role: 'system', content: 'Use tools when useful.' },
        { role: 'user', name: 'ana', content: 'Weather in Lyon? Answer briefly.' },
      ],
      functions: [weather],
      function_call: { name: 'get_weather' },
    });
    const body = {
      messages: [
        { role: 'system', content: 'Use tools when useful.' },
        { role: 'user', name: 'ana', content: [{ type: 'text', text: 'Weather in Lyon?' }, { type: 'text', text: ' Answer briefly.' }] },
      ],
      tools: [{ type: 'function', function: weather }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    };
    expect(estimatePromptTokens(body, 'gpt-4o')).toEqual({ tokens: reference, exact: true, family: 'openai' });
  });

  it('counts tool calls in the history as name + arguments + 3', () => {
    const base = { messages: [{ role: 'user', content: 'Weather in Lyon?' }] };
    const call = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lyon"}' } };
    const withCall = {
      messages: [
        ...base.messages,
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: 'call_1', content: '18 C, sunny' },
      ],
    };
    const extra =
      estimatePromptTokens(withCall, 'gpt-4o').tokens -
      estimatePromptTokens({ messages: [...base.messages, { role: 'assistant', content: '' }, { role: 'tool', content: '18 C, sunny' }] }, 'gpt-4o').tokens;
    expect(extra).toBe(gpt4o.countTokens('get_weather') + gpt4o.countTokens('{"city":"Lyon"}') + 3);
  });

  it('charges image parts a documented fixed cost and marks the estimate inexact', () => {
    const text = { messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }] }] };
    const image = (detail?: string) => ({
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:x', detail } }] }],
    });
    const base = estimatePromptTokens(text, 'gpt-4o').tokens;
    expect(estimatePromptTokens(image('low'), 'gpt-4o')).toEqual({ tokens: base + IMAGE_LOW_DETAIL_TOKENS, exact: false, family: 'openai' });
    expect(estimatePromptTokens(image(), 'gpt-4o').tokens).toBe(base + IMAGE_TOKENS);
  });

  it('counts embeddings inputs', () => {
    expect(estimatePromptTokens({ input: ['hello world', 'bye'] }, 'text-embedding-3-small').tokens).toBe(gpt4.countTokens('hello world') + gpt4.countTokens('bye'));
    expect(estimatePromptTokens({ input: [[1, 2, 3], [4]] }, 'text-embedding-3-small').tokens).toBe(4);
  });

  it('expects max_completion_tokens, else max_tokens, else the default', () => {
    expect(expectedCompletionTokens({ max_completion_tokens: 50, max_tokens: 99 }, 1000)).toBe(50);
    expect(expectedCompletionTokens({ max_tokens: 99 }, 1000)).toBe(99);
    expect(expectedCompletionTokens({ max_tokens: 'x' }, 1000)).toBe(1000);
    expect(expectedCompletionTokens(undefined, 7)).toBe(7);
  });

  it('never throws on malformed requests', () => {
    expect(estimatePromptTokens({ messages: [null, 3, { role: 5, content: { x: 1 } }], tools: 'x' }, 'gpt-4o').tokens).toBeGreaterThan(0);
    expect(estimatePromptTokens({}, 'claude-3-haiku').tokens).toBe(0);
  });
});
