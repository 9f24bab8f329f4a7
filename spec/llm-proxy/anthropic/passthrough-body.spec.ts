import { normalizeInbound } from '../../../plugins/llm-proxy/inbound';
import { passThroughBody, type PassThroughMemo } from '../../../plugins/providers/anthropic/passthrough';
import type { Exchange } from '../../../plugins/runtime/relay/stage';

/** A Claude-Code-like request: fields without an OpenAI form must survive the trip through the stages. */
function original(): Record<string, unknown> {
  return {
    model: 'claude-sonnet-4-5',
    max_tokens: 32000,
    stream: true,
    system: [
      { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.330' },
      { type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } },
    ],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'Mail bob@example.com the report', cache_control: { type: 'ephemeral' } }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'plan', signature: 'sig' },
          { type: 'tool_use', id: 'toolu_1', name: 'send', input: { to: 'bob@example.com' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sent to bob@example.com', is_error: true }] },
    ],
    tools: [{ name: 'send', input_schema: { type: 'object' }, defer_loading: true }],
    thinking: { type: 'adaptive' },
    output_config: { effort: 'high' },
    context_management: { edits: [] },
    metadata: { user_id: '{"device":"d1"}' },
    top_k: 40,
    future_field: { anything: [1, 2] },
  };
}

function normalized() {
  const body = original();
  const ex = { api: 'anthropic-messages', body } as unknown as Exchange;
  normalizeInbound(ex);
  return { ex, memo: ex.inbound!.translation as PassThroughMemo };
}

describe('Anthropic pass-through body after the stages', () => {
  it('normalisation gives the stages an OpenAI chat request and keeps the original', () => {
    const { ex } = normalized();
    expect(ex.api).toBe('openai-chat');
    expect(ex.inbound).toMatchObject({ api: 'anthropic-messages', body: original() });
    expect(ex.body!.messages).toHaveLength(5); // 2 system + user + assistant + tool
    expect(ex.body!.user).toBe('{"device":"d1"}');
  });

  it('sends the original untouched when no stage changed anything (model override applied)', () => {
    const { ex, memo } = normalized();
    expect(passThroughBody(ex.inbound!.body, memo, ex.body!, 'claude-sonnet-4-5')).toEqual(original());
    expect(passThroughBody(ex.inbound!.body, memo, ex.body!, 'claude-opus')).toEqual({ ...original(), model: 'claude-opus' });
  });

  it('applies text edits (a redaction) back to exactly those places, keeping thinking, cache_control and unknown fields', () => {
    const { ex, memo } = normalized();
    const redact = (s: string) => s.replace('bob@example.com', '[EMAIL]');
    const messages = ex.body!.messages as Record<string, any>[];
    messages[2].content = redact(messages[2].content);
    messages[3].tool_calls[0].function.arguments = redact(messages[3].tool_calls[0].function.arguments);
    messages[4].content = redact(messages[4].content);
    ex.body!.max_tokens = 1000;
    const sent = passThroughBody(ex.inbound!.body, memo, ex.body!, 'claude-sonnet-4-5');
    const expected = original() as Record<string, any>;
    expected.max_tokens = 1000;
    expected.messages[0].content[0].text = 'Mail [EMAIL] the report';
    expected.messages[1].content[1].input = { to: '[EMAIL]' };
    expected.messages[2].content[0].content = 'sent to [EMAIL]'; // the "Error: " prefix is ours and is taken off again
    expect(sent).toEqual(expected);
    expect(JSON.stringify(sent)).not.toContain('bob@example.com');
  });

  it('re-translates when a stage changed the structure, keeping the original\'s top-level extras', () => {
    const { ex, memo } = normalized();
    (ex.body!.messages as unknown[]).push({ role: 'user', content: 'added by a stage' });
    const sent = passThroughBody(ex.inbound!.body, memo, ex.body!, 'claude-sonnet-4-5');
    expect(sent).toMatchObject({
      model: 'claude-sonnet-4-5',
      thinking: { type: 'adaptive' },
      output_config: { effort: 'high' },
      context_management: { edits: [] },
      top_k: 40,
      future_field: { anything: [1, 2] },
      metadata: { user_id: '{"device":"d1"}' },
    });
    const messages = sent.messages as { role: string; content: { type: string; text?: string }[] }[];
    expect(messages.at(-1)!.content.at(-1)).toEqual({ type: 'text', text: 'added by a stage' });
    expect(sent.system).toEqual([{ type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.330' }, { type: 'text', text: 'You are Claude Code.' }]);
  });
});
