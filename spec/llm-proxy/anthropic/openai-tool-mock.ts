import { countWords } from '../../support/mock-providers/deterministic';
import { MockHttpError, MockProviderServer, type MockReply, type MockRoute, type RecordedRequest } from '../../support/mock-providers/mock-server';

/**
 * An OpenAI-wire chat endpoint that calls a tool (the shared OpenAI mock answers text only): when the request offers
 * the tool and its last message is not a tool result, it answers with one tool call, its arguments streamed in 3
 * pieces; otherwise with `Echo: <last tool or user message>`. Usage: words, as in ./deterministic.ts.
 */
export class OpenAiToolMock extends MockProviderServer {
  readonly providerName = 'openai-tools';

  constructor(private readonly tool: { name: string; arguments: string }) {
    super();
  }

  protected routes(): MockRoute[] {
    return [{ method: 'POST', path: '/v1/chat/completions', handle: (req, reply) => this.chat(req, reply) }];
  }

  protected renderError(error: MockHttpError): unknown {
    return { error: { message: error.message, type: 'invalid_request_error', param: null, code: null } };
  }

  private async chat(request: RecordedRequest, reply: MockReply): Promise<void> {
    const body = request.body as { model: string; stream?: boolean; messages: { role: string; content: unknown }[]; tools?: { function: { name: string } }[] };
    const last = body.messages.at(-1)!;
    const callTool = last.role !== 'tool' && body.tools?.some((t) => t.function.name === this.tool.name);
    const text = `Echo: ${typeof last.content === 'string' ? last.content : JSON.stringify(last.content)}`;
    const base = { id: 'chatcmpl-tool1', created: 1_700_000_000, model: body.model };
    const usage = { prompt_tokens: countWords(JSON.stringify(body.messages)), completion_tokens: callTool ? 3 : countWords(text), total_tokens: 0 };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const call = { id: 'call_t1', type: 'function', function: { name: this.tool.name, arguments: this.tool.arguments } };
    const finish = callTool ? 'tool_calls' : 'stop';
    if (!body.stream) {
      const message = callTool ? { role: 'assistant', content: null, tool_calls: [call] } : { role: 'assistant', content: text };
      return reply.json(200, { ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: finish }], usage });
    }
    const chunk = (delta: unknown, finishReason: string | null = null) => ({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason }] });
    const events: unknown[] = [chunk({ role: 'assistant', content: null })];
    if (callTool) {
      const args = this.tool.arguments;
      const third = Math.max(1, Math.ceil(args.length / 3));
      events.push(chunk({ tool_calls: [{ index: 0, id: call.id, type: 'function', function: { name: this.tool.name, arguments: '' } }] }));
      for (let at = 0; at < args.length; at += third) events.push(chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(at, at + third) } }] }));
    } else {
      events.push(chunk({ content: text }));
    }
    events.push(chunk({}, finish), { ...base, object: 'chat.completion.chunk', choices: [], usage });
    await reply.stream({
      contentType: 'text/event-stream',
      frames: [...events.map((e) => `data: ${JSON.stringify(e)}\n\n`), 'data: [DONE]\n\n'],
      malformedFrame: 'data: {"choices":[\n\n',
    });
  }
}
