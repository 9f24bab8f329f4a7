import { z } from 'zod';
import { bagOfWordsVector, countWords, deterministicAnswer, embeddingWords } from './deterministic';
import { MockHttpError, MockProviderServer, type MockReply, type MockRoute, type MockServerOptions, type RecordedRequest } from './mock-server';
import { gzipReply, messageText, type MockTool } from './openai-wire-chat';

/**
 * Mock of Cohere's v2 API (`POST /v2/chat`, `POST /v2/embed`) in its exact wire format, strict about fields (OpenAI's
 * `top_p`, `stop`, `max_completion_tokens`, `tool_choice: "auto"`… are rejected with 400, as a translation bug would be).
 * - answer: `Echo: <last user text>` per ./deterministic.ts (after a tool result: echo of the result); JSON mode
 *   (`response_format.type` json_object) answers `{"echo":"…"}`; `max_tokens` cuts it (finish_reason MAX_TOKENS).
 * - a configured `tool` offered in `tools` is called unless the last message is a tool result: a `tool_plan`, one
 *   tool call (finish_reason TOOL_CALL), its arguments streamed in 3 tool-call-delta events.
 * - usage: billed_units = words (prompt: every message's text; output: answer words or ceil(arguments/4));
 *   tokens = billed + 7 prompt-template tokens on input.
 * - stream: `event: <type>` + `data: {"type":…}` frames: message-start, content-start, content-delta per word,
 *   content-end (or tool-plan-delta, tool-call-start/delta/end), message-end with finish_reason and usage.
 *   `streamError` ends the stream with message-end finish_reason ERROR after some frames.
 * - embed: float vectors (bag of words, 64 dims), `meta.billed_units.input_tokens` = words.
 * - errors: `{"id","message"}`; 401 `{"message":"invalid api token"}`.
 */
export interface CohereMockOptions extends MockServerOptions {
  apiKey?: string;
  reply?: string;
  tool?: MockTool;
  gzip?: boolean;
  streamError?: { afterFrames: number; message: string };
}

const text = z.strictObject({ type: z.literal('text'), text: z.string() });
const image = z.strictObject({ type: z.literal('image_url'), image_url: z.looseObject({ url: z.string() }) });
const toolCall = z.strictObject({ id: z.string(), type: z.literal('function'), function: z.strictObject({ name: z.string(), arguments: z.string() }) });
const message = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('system'), content: z.union([z.string(), z.array(text)]) }),
  z.strictObject({ role: z.literal('user'), content: z.union([z.string(), z.array(z.union([text, image]))]) }),
  z.strictObject({ role: z.literal('assistant'), content: z.union([z.string(), z.array(text)]).optional(), tool_calls: z.array(toolCall).optional(), tool_plan: z.string().optional() }),
  z.strictObject({ role: z.literal('tool'), tool_call_id: z.string().min(1), content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]) }),
]);
const chatSchema = z.strictObject({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  stream: z.boolean().optional(),
  tools: z.array(z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: z.string(), description: z.string().optional(), parameters: z.looseObject({}) }) })).optional(),
  tool_choice: z.enum(['REQUIRED', 'NONE']).optional(),
  response_format: z.strictObject({ type: z.enum(['text', 'json_object']), json_schema: z.looseObject({}).optional() }).optional(),
  max_tokens: z.number().int().min(1).optional(),
  stop_sequences: z.array(z.string()).max(5).optional(),
  temperature: z.number().optional(),
  seed: z.number().int().optional(),
  frequency_penalty: z.number().optional(),
  presence_penalty: z.number().optional(),
  k: z.number().optional(),
  p: z.number().optional(),
});
type ChatRequest = z.infer<typeof chatSchema>;
const embedSchema = z.strictObject({
  model: z.string().min(1),
  texts: z.array(z.string()).min(1).max(96),
  input_type: z.enum(['search_document', 'search_query', 'classification', 'clustering']),
  embedding_types: z.array(z.enum(['float', 'int8', 'uint8', 'binary', 'ubinary', 'base64'])).optional(),
  output_dimension: z.number().int().optional(),
});

const TEMPLATE_TOKENS = 7;

export class CohereMock extends MockProviderServer {
  readonly providerName = 'cohere';
  private sequence = 0;

  constructor(readonly options: CohereMockOptions = {}) {
    super(options);
  }

  protected routes(): MockRoute[] {
    return [
      { method: 'POST', path: '/v2/chat', handle: (req, reply) => this.chat(req, reply) },
      { method: 'POST', path: '/v2/embed', handle: (req, reply) => this.embed(req, reply) },
    ];
  }

  protected override authenticate(request: RecordedRequest): void {
    if (this.options.apiKey !== undefined && request.headers.authorization !== `Bearer ${this.options.apiKey}`) throw new MockHttpError(401, 'invalid api token');
  }

  protected renderError(error: MockHttpError): unknown {
    return error.status === 401 ? { message: error.message } : { id: `err-${this.nextId()}`, message: error.message };
  }

  private async chat(request: RecordedRequest, reply: MockReply): Promise<void> {
    const body = parse(chatSchema, request.body);
    const id = `c0here-${this.nextId()}`;
    const prompt = countWords(body.messages.map((m) => messageText(m.content)).join(' '));
    const tool = this.toolFor(body);
    const last = body.messages.at(-1)!;
    const lastUser = messageText([...body.messages].reverse().find((m) => m.role === 'user')?.content);
    let answer: { words: string[]; finish: string };
    if (body.response_format?.type === 'json_object') answer = { words: [JSON.stringify({ echo: lastUser })], finish: 'COMPLETE' };
    else {
      const { words, stopReason } = deterministicAnswer({ lastUserText: last.role === 'tool' ? messageText(last.content) : lastUser, reply: this.options.reply, maxTokens: body.max_tokens });
      answer = { words, finish: stopReason === 'length' ? 'MAX_TOKENS' : 'COMPLETE' };
    }
    const output = tool ? Math.ceil(tool.arguments.length / 4) : countWords(answer.words.join(' '));
    const usage = { billed_units: { input_tokens: prompt, output_tokens: output }, tokens: { input_tokens: prompt + TEMPLATE_TOKENS, output_tokens: output } };
    const call = tool && { id: `${tool.name}_${this.nextId()}`, type: 'function', function: { name: tool.name, arguments: tool.arguments } };
    const plan = `I will use ${tool?.name}.`;
    const finish = tool ? 'TOOL_CALL' : answer.finish;

    if (!body.stream) {
      const msg = call ? { role: 'assistant', tool_plan: plan, tool_calls: [call] } : { role: 'assistant', content: [{ type: 'text', text: answer.words.join(' ') }] };
      const json = { id, message: msg, finish_reason: finish, usage };
      return this.options.gzip ? gzipReply(reply, 'json', json) : reply.json(200, json);
    }
    const frames = [frame('message-start', { id, delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } } })];
    if (call) {
      frames.push(frame('tool-plan-delta', { delta: { message: { tool_plan: plan } } }));
      frames.push(frame('tool-call-start', { index: 0, delta: { message: { tool_calls: { ...call, function: { name: call.function.name, arguments: '' } } } } }));
      const args = call.function.arguments;
      const third = Math.max(1, Math.ceil(args.length / 3));
      for (let at = 0; at < args.length; at += third) frames.push(frame('tool-call-delta', { index: 0, delta: { message: { tool_calls: { function: { arguments: args.slice(at, at + third) } } } } }));
      frames.push(frame('tool-call-end', { index: 0 }));
    } else {
      frames.push(frame('content-start', { index: 0, delta: { message: { content: { type: 'text', text: '' } } } }));
      answer.words.forEach((word, i) => frames.push(frame('content-delta', { index: 0, delta: { message: { content: { text: i === 0 ? word : ` ${word}` } } } })));
      frames.push(frame('content-end', { index: 0 }));
    }
    frames.push(frame('message-end', { delta: { finish_reason: finish, usage } }));
    const failure = this.options.streamError;
    if (failure) frames.splice(failure.afterFrames, frames.length, frame('message-end', { delta: { finish_reason: 'ERROR', error: failure.message, usage } }));
    if (this.options.gzip) return gzipReply(reply, 'sse', frames);
    await reply.stream({ contentType: 'text/event-stream', frames, malformedFrame: 'event: content-delta\ndata: {"type":"content-delta","index":0,"delta":{"message":\n\n' });
  }

  private async embed(request: RecordedRequest, reply: MockReply): Promise<void> {
    const body = parse(embedSchema, request.body);
    const types = body.embedding_types ?? ['float'];
    if (!types.includes('float')) throw new MockHttpError(400, 'this mock serves float embeddings only');
    await reply.json(200, {
      id: `emb-${this.nextId()}`,
      texts: body.texts,
      embeddings: { float: body.texts.map((t) => bagOfWordsVector(embeddingWords(t), body.output_dimension ?? 64)) },
      meta: { api_version: { version: '2' }, billed_units: { input_tokens: countWords(body.texts.join(' ')) } },
      response_type: 'embeddings_by_type',
    });
  }

  private toolFor(body: ChatRequest): MockTool | undefined {
    const tool = this.options.tool;
    if (!tool || body.tool_choice === 'NONE' || !body.tools?.some((t) => t.function.name === tool.name)) return undefined;
    return body.messages.at(-1)!.role === 'tool' ? undefined : tool;
  }

  private nextId(): string {
    this.sequence += 1;
    return this.sequence.toString(16).padStart(6, '0');
  }
}

function frame(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const what = issue.code === 'unrecognized_keys' ? `unknown field: parameter '${issue.keys.join(', ')}' is not a valid field` : issue.message;
  throw new MockHttpError(400, `invalid request: ${issue.path.join('.') || 'body'}: ${what}`);
}
