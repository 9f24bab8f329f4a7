import { anthropicRequestToOpenAi } from '../../../plugins/providers/anthropic/inbound-request';
import { openAiRequestToAnthropic } from '../../../plugins/providers/anthropic/outbound-request';
import { GatewayError } from '../../../plugins/runtime/relay/errors';

const PNG = 'iVBORw0KGgo=';

describe('Anthropic request → OpenAI chat request (inbound)', () => {
  const table: [string, Record<string, unknown>, Record<string, unknown>][] = [
    [
      'system string, stop_sequences, metadata.user_id, sampling',
      { model: 'claude-x', max_tokens: 50, system: 'Be brief', stop_sequences: ['END'], metadata: { user_id: 'u-1' }, temperature: 0.2, top_p: 0.9, top_k: 5, messages: [{ role: 'user', content: 'hi' }] },
      { model: 'claude-x', max_tokens: 50, temperature: 0.2, top_p: 0.9, stop: ['END'], user: 'u-1', messages: [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'hi' }] },
    ],
    [
      'system blocks with cache_control → one system message each (cache_control stays in the original)',
      {
        model: 'm',
        max_tokens: 10,
        system: [{ type: 'text', text: 'A' }, { type: 'text', text: 'B', cache_control: { type: 'ephemeral' } }],
        messages: [{ role: 'user', content: [{ type: 'text', text: 'q', cache_control: { type: 'ephemeral' } }] }],
      },
      { messages: [{ role: 'system', content: 'A' }, { role: 'system', content: 'B' }, { role: 'user', content: 'q' }] },
    ],
    [
      'images: base64 → data URL, url → url, next to text parts',
      {
        model: 'm',
        max_tokens: 10,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
              { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
              { type: 'text', text: 'what is this?' },
            ],
          },
        ],
      },
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
              { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
              { type: 'text', text: 'what is this?' },
            ],
          },
        ],
      },
    ],
    [
      'tool_use → tool_calls (empty input → "{}"), tool_result (JSON, non-JSON, error, blocks) → tool messages first',
      {
        model: 'm',
        max_tokens: 10,
        messages: [
          { role: 'user', content: 'weather?' },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'hmm', signature: 's' },
              { type: 'text', text: 'Checking.' },
              { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
              { type: 'tool_use', id: 'toolu_2', name: 'now', input: {} },
              { type: 'tool_use', id: 'toolu_3', name: 'fail', input: {} },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_1', content: '{"temp":21}' },
              { type: 'tool_result', tool_use_id: 'toolu_2', content: [{ type: 'text', text: 'noon, not JSON' }] },
              { type: 'tool_result', tool_use_id: 'toolu_3', content: 'boom', is_error: true },
              { type: 'text', text: 'and tomorrow?' },
            ],
          },
        ],
        tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }, { name: 'now', input_schema: { type: 'object' } }, { type: 'web_search_20250305', name: 'web_search' }],
        tool_choice: { type: 'any', disable_parallel_tool_use: true },
      },
      {
        messages: [
          { role: 'user', content: 'weather?' },
          {
            role: 'assistant',
            content: 'Checking.',
            tool_calls: [
              { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'toolu_2', type: 'function', function: { name: 'now', arguments: '{}' } },
              { id: 'toolu_3', type: 'function', function: { name: 'fail', arguments: '{}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'toolu_1', content: '{"temp":21}' },
          { role: 'tool', tool_call_id: 'toolu_2', content: 'noon, not JSON' },
          { role: 'tool', tool_call_id: 'toolu_3', content: 'Error: boom' },
          { role: 'user', content: 'and tomorrow?' },
        ],
        tools: [
          { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
          { type: 'function', function: { name: 'now', parameters: { type: 'object' } } },
        ],
        tool_choice: 'required',
        parallel_tool_calls: false,
      },
    ],
    ['tool_choice tool → function', { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }], tool_choice: { type: 'tool', name: 'f' } }, { tool_choice: { type: 'function', function: { name: 'f' } } }],
    ['tool_choice none and auto', { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }], tool_choice: { type: 'none' } }, { tool_choice: 'none' }],
    [
      'role system turns inside messages (Claude Code) stay system messages in place',
      { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'a' }, { role: 'system', content: 'note' }] },
      { messages: [{ role: 'user', content: 'a' }, { role: 'system', content: 'note' }] },
    ],
  ];

  it.each(table)('%s', (_name, anthropic, expected) => {
    const { body } = anthropicRequestToOpenAi(anthropic);
    expect(body).toMatchObject(expected);
    expect(body).not.toHaveProperty('top_k');
    expect(body).not.toHaveProperty('thinking');
  });

  it('answers 400 for content it cannot express and for a missing messages list', () => {
    const bad = { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'container_upload', file_id: 'f' }] }] };
    expect(() => anthropicRequestToOpenAi(bad)).toThrow(GatewayError);
    expect(() => anthropicRequestToOpenAi({ model: 'm' })).toThrow(/messages/);
  });
});

describe('OpenAI chat request → Anthropic request (upstream)', () => {
  it('maps system/developer, user parts, tool calls and results, tools, tool_choice, stop, user, max tokens', () => {
    const out = openAiRequestToAnthropic(
      {
        model: 'ignored',
        messages: [
          { role: 'system', content: 'S1' },
          { role: 'developer', content: [{ type: 'text', text: 'S2', cache_control: { type: 'ephemeral' } }] },
          { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }, { type: 'image_url', image_url: { url: 'https://x.test/i.png' } }] },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }, { id: 'call_2', type: 'function', function: { name: 'g', arguments: '{"a":1}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: 'plain text result' },
          { role: 'tool', tool_call_id: 'call_2', content: '{"ok":true}' },
          { role: 'user', content: 'thanks' },
        ],
        tools: [{ type: 'function', function: { name: 'f', description: 'F' } }, { type: 'function', function: { name: 'g', parameters: { type: 'object', properties: { a: { type: 'number' } } } } }],
        tool_choice: 'required',
        parallel_tool_calls: false,
        stop: 'END',
        user: 'u-9',
        max_completion_tokens: 77,
        temperature: 0.5,
        seed: 3,
      },
      'claude-x',
    );
    expect(out).toEqual({
      model: 'claude-x',
      max_tokens: 77,
      system: [{ type: 'text', text: 'S1' }, { type: 'text', text: 'S2', cache_control: { type: 'ephemeral' } }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'image', source: { type: 'url', url: 'https://x.test/i.png' } },
          ],
        },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'call_1', name: 'f', input: {} }, { type: 'tool_use', id: 'call_2', name: 'g', input: { a: 1 } }] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_1', content: 'plain text result' },
            { type: 'tool_result', tool_use_id: 'call_2', content: '{"ok":true}' },
            { type: 'text', text: 'thanks' },
          ],
        },
      ],
      temperature: 0.5,
      stop_sequences: ['END'],
      tools: [
        { name: 'f', description: 'F', input_schema: { type: 'object', properties: {} } },
        { name: 'g', input_schema: { type: 'object', properties: { a: { type: 'number' } } } },
      ],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      metadata: { user_id: 'u-9' },
    });
  });

  it.each([
    ['auto', { type: 'auto' }],
    ['none', { type: 'none' }],
    [{ type: 'function', function: { name: 'f' } }, { type: 'tool', name: 'f' }],
  ])('tool_choice %j → %j', (choice, expected) => {
    expect(openAiRequestToAnthropic({ messages: [{ role: 'user', content: 'x' }], tool_choice: choice }, 'm').tool_choice).toEqual(expected);
  });

  it('defaults max_tokens to 4096 and refuses what Anthropic cannot do with a 400', () => {
    expect(openAiRequestToAnthropic({ messages: [{ role: 'user', content: 'x' }] }, 'm').max_tokens).toBe(4096);
    const refuse = (body: Record<string, unknown>) => () => openAiRequestToAnthropic({ messages: [{ role: 'user', content: 'x' }], ...body }, 'm');
    expect(refuse({ n: 2 })).toThrow(/n > 1/);
    expect(refuse({ response_format: { type: 'json_object' } })).toThrow(/response_format/);
    expect(refuse({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] })).toThrow(/input_audio/);
    expect(refuse({ messages: [{ role: 'assistant', tool_calls: [{ id: 'c', function: { name: 'f', arguments: 'not json' } }] }] })).toThrow(/arguments/);
    expect(refuse({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x' } }] }] })).toThrow(/image_url/);
  });

  it('round-trips a translated Anthropic request back to the same Anthropic content', () => {
    const anthropic = {
      model: 'm',
      max_tokens: 20,
      system: [{ type: 'text', text: 'sys' }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'q' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: { x: [1, 2] } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'r' }] },
      ],
    };
    const back = openAiRequestToAnthropic(anthropicRequestToOpenAi(anthropic).body, 'm');
    expect(back).toEqual(anthropic);
  });
});
