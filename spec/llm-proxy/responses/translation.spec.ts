import { createParser } from 'eventsource-parser';
import { responsesRequestToChat } from '../../../plugins/providers/openai/responses/inbound-request';
import { completionToResponse } from '../../../plugins/providers/openai/responses/response';
import { ChatToResponsesStream } from '../../../plugins/providers/openai/responses/stream';
import { GatewayError } from '../../../plugins/runtime/relay/errors';
import type { ChatChunk } from '../../../plugins/runtime/relay/stage';

/** The Responses translators on their own: request → chat request, completion → Response, chunks → events. */
describe('Responses request → chat request', () => {
  it('turns a whole conversation of items into chat messages', () => {
    const body = responsesRequestToChat({
      model: 'm',
      instructions: 'Be brief.',
      input: [
        { role: 'developer', content: 'Answer in English.' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Look:' }, { type: 'input_image', image_url: 'https://x/cat.png', detail: 'low' }] },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Let me check.', annotations: [] }] },
        { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{"a":1}' },
        { type: 'function_call', call_id: 'call_2', name: 'g', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'one' },
        { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: 'two' }, { type: 'input_image', image_url: 'data:image/png;base64,AAA' }] },
        { role: 'user', content: [{ type: 'input_file', file_data: 'data:application/pdf;base64,JVBER', filename: 'a.pdf' }] },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'system', content: 'Answer in English.' },
      { role: 'user', content: [{ type: 'text', text: 'Look:' }, { type: 'image_url', image_url: { url: 'https://x/cat.png', detail: 'low' } }] },
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
          { id: 'call_2', type: 'function', function: { name: 'g', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'one' },
      { role: 'tool', tool_call_id: 'call_2', content: 'two' },
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAA' } }] },
      { role: 'user', content: [{ type: 'file', file: { file_data: 'data:application/pdf;base64,JVBER', filename: 'a.pdf' } }] },
    ]);
  });

  it('maps the settings: tokens, sampling, tools, tool_choice, text format, reasoning', () => {
    const body = responsesRequestToChat({
      model: 'm',
      input: 'hi',
      max_output_tokens: 99,
      temperature: 0.5,
      top_p: 0.9,
      parallel_tool_calls: false,
      stream: true,
      user: 'u1',
      metadata: { a: 'b' },
      store: true,
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object', properties: {} }, strict: true }, { type: 'function', name: 'g', description: 'G' }],
      tool_choice: { type: 'function', name: 'f' },
      text: { format: { type: 'json_object' }, verbosity: 'low' },
      reasoning: { effort: 'high', summary: 'auto' },
    });
    expect(body).toEqual({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      max_completion_tokens: 99,
      temperature: 0.5,
      top_p: 0.9,
      parallel_tool_calls: false,
      stream: true,
      user: 'u1',
      tools: [
        { type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} }, strict: true } },
        { type: 'function', function: { name: 'g', description: 'G', parameters: { type: 'object', properties: {} } } },
      ],
      tool_choice: { type: 'function', function: { name: 'f' } },
      response_format: { type: 'json_object' },
      verbosity: 'low',
      reasoning_effort: 'high',
    });
  });

  it.each([
    [{ input: 'x', conversation: 'conv_1' }, /conversation: this gateway is stateless/],
    [{ input: 'x', tools: [{ type: 'file_search', vector_store_ids: ['vs'] }] }, /built-in tool "file_search"/],
    [{ input: 'x', tools: [{ type: 'computer_use_preview' }] }, /built-in tool "computer_use_preview"/],
    [{ input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] }] }, /input\.0\.content\.0: files uploaded to OpenAI/],
    [{ input: [{ role: 'tool', content: 'x' }] }, /input\.0\.role: must be/],
    [{ input: [{ type: 'web_search_call', id: 'ws_1' }] }, /input items of type "web_search_call"/],
    [{ input: 'x', tool_choice: { type: 'web_search_preview' } }, /tool_choice: "web_search_preview" is not supported/],
    [{ input: 42 }, /input: must be a string or a list/],
  ])('refuses what it cannot translate with a 400 naming it (%#)', (req, message) => {
    let thrown: unknown;
    try {
      responsesRequestToChat({ model: 'm', ...req });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect((thrown as GatewayError).status).toBe(400);
    expect((thrown as GatewayError).message).toMatch(message);
  });
});

describe('chat completion → Response', () => {
  it('gives a message item and function_call items, and echoes the request', () => {
    const response = completionToResponse(
      {
        id: 'chatcmpl-abc',
        created: 1_700_000_000,
        model: 'gpt-x',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'tool_calls' }],
      },
      { promptTokens: 10, completionTokens: 5, totalTokens: 15, cachedTokens: 4, reasoningTokens: 2, estimated: false },
      'fallback',
      { model: 'm', input: 'x', tool_choice: 'required', tools: [{ type: 'function', name: 'f' }], metadata: { k: 'v' } },
    );
    expect(response).toMatchObject({
      id: 'resp_abc',
      object: 'response',
      created_at: 1_700_000_000,
      status: 'completed',
      model: 'gpt-x',
      tool_choice: 'required',
      tools: [{ type: 'function', name: 'f' }],
      metadata: { k: 'v' },
      store: false,
      output: [
        { type: 'message', id: 'msg_abc', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Checking.', annotations: [] }] },
        { type: 'function_call', id: 'fc_9', call_id: 'call_9', name: 'f', arguments: '{}', status: 'completed' },
      ],
      usage: { input_tokens: 10, input_tokens_details: { cached_tokens: 4 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 15 },
    });
  });

  it('reads usage from the completion when the provider call gave none apart, and marks a cut answer incomplete', () => {
    const response = completionToResponse(
      { choices: [{ index: 0, message: { role: 'assistant', content: 'a b' }, finish_reason: 'length' }], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } },
      undefined,
      'fallback',
      { model: 'm', input: 'x' },
    );
    expect(response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, model: 'fallback', usage: { input_tokens: 3, output_tokens: 2 } });
    expect((response.output as { status: string }[])[0].status).toBe('incomplete');
  });
});

describe('chat chunks → Responses events', () => {
  const events = (frames: string) => {
    const out: { event?: string; data: Record<string, unknown> }[] = [];
    createParser({ onEvent: (e) => out.push({ event: e.event, data: JSON.parse(e.data) }) }).feed(frames);
    return out;
  };
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): ChatChunk => ({ id: 'chatcmpl-s1', model: 'gpt-x', choices: [{ index: 0, delta, finish_reason: finish }] });

  it('writes text, then function calls, each item closed before the next, with the event name on every frame', () => {
    const s = new ChatToResponsesStream('m', { model: 'm', input: 'x' });
    let frames = s.chunk(chunk({ role: 'assistant', content: 'Hel' })) + s.chunk(chunk({ content: 'lo' }));
    frames += s.chunk(chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '{"x"' } }] }));
    frames += s.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }));
    frames += s.chunk(chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: '{}' } }] }, 'tool_calls'));
    frames += s.end({ promptTokens: 7, completionTokens: 3, totalTokens: 10, estimated: false });
    const list = events(frames);
    expect(list.every((e) => e.event === e.data.type)).toBe(true);
    expect(list.map((e) => e.data.sequence_number)).toEqual(list.map((_, i) => i));
    expect(list.map((e) => e.data.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const completed = list.at(-1)!.data.response as Record<string, unknown>;
    expect(completed).toMatchObject({
      id: 'resp_s1',
      status: 'completed',
      model: 'gpt-x',
      output: [
        { type: 'message', content: [{ type: 'output_text', text: 'Hello' }] },
        { type: 'function_call', call_id: 'call_a', name: 'f', arguments: '{"x":1}', status: 'completed' },
        { type: 'function_call', call_id: 'call_b', name: 'g', arguments: '{}', status: 'completed' },
      ],
      usage: { input_tokens: 7, output_tokens: 3, total_tokens: 10 },
    });
  });

  it('streams a refusal as a refusal part of its own message item', () => {
    const s = new ChatToResponsesStream('m', {});
    const list = events(s.chunk(chunk({ refusal: "I can't" })) + s.chunk(chunk({ refusal: ' help.' }, 'stop')) + s.end(undefined));
    expect(list.map((e) => e.data.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.refusal.delta',
      'response.refusal.delta',
      'response.refusal.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(list[3].data.part).toEqual({ type: 'refusal', refusal: '' });
    expect(list.at(-1)!.data.response).toMatchObject({ output: [{ type: 'message', content: [{ type: 'refusal', refusal: "I can't help." }] }] });
  });

  it('ends a cut answer with response.incomplete, and a failure with response.failed even before any chunk', () => {
    const cut = new ChatToResponsesStream('m', {});
    const cutEvents = events(cut.chunk(chunk({ content: 'a' }, 'length')) + cut.end(undefined));
    expect(cutEvents.at(-1)!.data).toMatchObject({ type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } });

    const failed = new ChatToResponsesStream('m', {});
    const failedEvents = events(failed.error(429, 'slow down'));
    expect(failedEvents.map((e) => e.data.type)).toEqual(['response.created', 'response.in_progress', 'response.failed']);
    expect(failedEvents[2].data.response).toMatchObject({ status: 'failed', error: { code: 'rate_limit_exceeded', message: 'slow down' } });
    expect(failed.end(undefined)).toBe('');
  });
});
