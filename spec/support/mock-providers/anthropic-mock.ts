import { z } from 'zod';
import { countWords, deterministicAnswer } from './deterministic';
import { MockHttpError, MockProviderServer, type MockReply, type MockRoute, type MockServerOptions, type RecordedRequest } from './mock-server';

/**
 * Mock of Anthropic's Messages API (`POST /v1/messages`, `POST /v1/messages/count_tokens`) in Anthropic's exact
 * wire format. Content and token counts follow ./deterministic.ts; in Anthropic's terms:
 * - the answer echoes the last user turn's text (its text blocks and tool_result texts); `stop_reason` is
 *   `max_tokens` when `max_tokens` cut it, else `end_turn`.
 * - with `toolUse` set and that tool offered in `tools`, a turn that does not end in a tool_result is answered with
 *   one tool_use block (`stop_reason: tool_use`); its input is streamed as input_json_delta in 3 pieces.
 * - with `thinking` enabled in the request, a thinking block (thinking_delta + signature_delta) comes first.
 * - usage: input = words of every system/message text (incl. tool results), reported as input_tokens minus the
 *   configured cache reads/writes (`cache_read_input_tokens`, `cache_creation_input_tokens`); output = answer words
 *   (a tool_use: its JSON input's length / 4, rounded up). Streams report input in message_start and output in message_delta.
 * - errors: `{"type":"error","error":{"type","message"}}` with `request-id`; a 529 is `overloaded_error`;
 *   `streamError` sends an `error` event after some frames and ends the stream (what Anthropic does when overloaded
 *   mid-answer).
 */
export interface AnthropicMockOptions extends MockServerOptions {
  /** When set, requests must carry `x-api-key: <apiKey>`, else 401 authentication_error. */
  apiKey?: string;
  reply?: string;
  label?: string;
  chunkDelayMs?: number;
  toolUse?: { name: string; input: Record<string, unknown> };
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  streamError?: { afterFrames: number; type: string; message: string };
}

const blockSchema = z.looseObject({ type: z.string() });
const contentSchema = z.union([z.string(), z.array(blockSchema)]);
const messagesRequestSchema = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.number().int().min(1),
  messages: z.array(z.looseObject({ role: z.enum(['user', 'assistant']), content: contentSchema })).min(1),
  system: z.union([z.string(), z.array(z.looseObject({ type: z.literal('text'), text: z.string() }))]).optional(),
  stream: z.boolean().optional(),
  tools: z.array(z.looseObject({ name: z.string() })).optional(),
  thinking: z.looseObject({ type: z.string() }).optional(),
});
type MessagesRequest = z.infer<typeof messagesRequestSchema>;
const countTokensSchema = messagesRequestSchema.omit({ max_tokens: true });

export class AnthropicMock extends MockProviderServer {
  readonly providerName = 'anthropic';
  private sequence = 0;

  constructor(readonly options: AnthropicMockOptions = {}) {
    super(options);
  }

  protected routes(): MockRoute[] {
    return [
      { method: 'POST', path: '/v1/messages', handle: (req, reply) => this.messages(req, reply) },
      { method: 'POST', path: '/v1/messages/count_tokens', handle: (req, reply) => this.countTokens(req, reply) },
    ];
  }

  protected override authenticate(request: RecordedRequest): void {
    const expected = this.options.apiKey;
    if (expected === undefined) return;
    if (request.headers['x-api-key'] !== expected) throw new MockHttpError(401, 'invalid x-api-key', { type: 'authentication_error' });
  }

  protected renderError(error: MockHttpError): unknown {
    return { type: 'error', error: { type: error.details.type ?? errorType(error.status), message: error.message } };
  }

  private async countTokens(request: RecordedRequest, reply: MockReply): Promise<void> {
    const body = parseBody(countTokensSchema, request.body);
    await reply.json(200, { input_tokens: promptWords(body as MessagesRequest) });
  }

  private async messages(request: RecordedRequest, reply: MockReply): Promise<void> {
    const body = parseBody(messagesRequestSchema, request.body);
    const id = `msg_mock${this.nextId()}`;
    const headers = { 'request-id': `req_mock${id.slice(-8)}` };
    const prompt = promptWords(body);
    const cacheRead = Math.min(this.options.cacheReadTokens ?? 0, prompt);
    const cacheWrite = Math.min(this.options.cacheWriteTokens ?? 0, prompt - cacheRead);
    const inputUsage = { input_tokens: prompt - cacheRead - cacheWrite, cache_creation_input_tokens: cacheWrite, cache_read_input_tokens: cacheRead };
    const tool = this.toolFor(body);
    const thinking = body.thinking && body.thinking.type !== 'disabled' ? 'Let me think about the echo.' : undefined;
    const { words, stopReason } = deterministicAnswer({ lastUserText: lastUserText(body), reply: this.options.reply, label: this.options.label, maxTokens: body.max_tokens });
    const text = words.join(' ');
    const stop = tool ? 'tool_use' : stopReason === 'length' ? 'max_tokens' : 'end_turn';
    const output = tool ? Math.ceil(JSON.stringify(tool.input).length / 4) : words.length;

    if (!body.stream) {
      const content: unknown[] = [];
      if (thinking) content.push({ type: 'thinking', thinking, signature: 'sig-mock' });
      content.push(tool ? { type: 'tool_use', id: `toolu_mock${this.nextId()}`, name: tool.name, input: tool.input } : { type: 'text', text });
      await reply.json(
        200,
        { id, type: 'message', role: 'assistant', model: body.model, content, stop_reason: stop, stop_sequence: null, usage: { ...inputUsage, output_tokens: output } },
        headers,
      );
      return;
    }

    const frames: string[] = [
      frame('message_start', {
        message: { id, type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...inputUsage, output_tokens: 1 } },
      }),
    ];
    let index = 0;
    if (thinking) {
      frames.push(
        frame('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } }),
        frame('content_block_delta', { index, delta: { type: 'thinking_delta', thinking } }),
        frame('content_block_delta', { index, delta: { type: 'signature_delta', signature: 'sig-mock' } }),
        frame('content_block_stop', { index }),
      );
      index++;
    }
    if (tool) {
      const json = JSON.stringify(tool.input);
      const third = Math.ceil(json.length / 3);
      frames.push(frame('content_block_start', { index, content_block: { type: 'tool_use', id: `toolu_mock${this.nextId()}`, name: tool.name, input: {} } }));
      for (let at = 0; at < json.length; at += third) {
        frames.push(frame('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: json.slice(at, at + third) } }));
      }
    } else {
      frames.push(frame('content_block_start', { index, content_block: { type: 'text', text: '' } }), frame('ping', {}));
      words.forEach((word, i) => frames.push(frame('content_block_delta', { index, delta: { type: 'text_delta', text: i === 0 ? word : ` ${word}` } })));
    }
    frames.push(
      frame('content_block_stop', { index }),
      frame('message_delta', { delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: output } }),
      frame('message_stop', {}),
    );
    const failure = this.options.streamError;
    if (failure) frames.splice(failure.afterFrames, frames.length, frame('error', { error: { type: failure.type, message: failure.message } }));
    await reply.stream({
      contentType: 'text/event-stream; charset=utf-8',
      frames,
      malformedFrame: `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\n\n`,
      headers,
      chunkDelayMs: this.options.chunkDelayMs,
    });
  }

  private toolFor(body: MessagesRequest): AnthropicMockOptions['toolUse'] {
    const tool = this.options.toolUse;
    if (!tool || !body.tools?.some((t) => t.name === tool.name)) return undefined;
    const last = body.messages.at(-1)!;
    const answersTool = Array.isArray(last.content) && last.content.some((b) => b.type === 'tool_result');
    return answersTool ? undefined : tool;
  }

  private nextId(): string {
    this.sequence += 1;
    return this.sequence.toString(16).padStart(8, '0');
  }
}

function frame(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

function errorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 529:
      return 'overloaded_error';
    default:
      return 'api_error';
  }
}

function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new MockHttpError(400, `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid request'}`, { type: 'invalid_request_error' });
}

/** Text of a content value: strings, text blocks and the texts inside tool_result blocks. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b: { type?: string; text?: unknown; content?: unknown }) => (b.type === 'text' ? String(b.text ?? '') : b.type === 'tool_result' ? contentText(b.content) : ''))
    .join(' ');
}

function promptWords(body: MessagesRequest): number {
  const system = typeof body.system === 'string' ? body.system : (body.system ?? []).map((b) => b.text).join(' ');
  return countWords([system, ...body.messages.map((m) => contentText(m.content))].join(' '));
}

function lastUserText(body: MessagesRequest): string {
  const user = [...body.messages].reverse().find((m) => m.role === 'user');
  return user ? contentText(user.content) : '';
}
