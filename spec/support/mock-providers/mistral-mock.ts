import { z } from 'zod';
import { bagOfWordsVector, countWords, embeddingWords, float32Base64 } from './deterministic';
import { MockHttpError, MockProviderServer, type MockReply, type MockRoute, type MockServerOptions, type RecordedRequest } from './mock-server';
import { gzipReply, sseFrames, wireAnswer, wireDeltas, wireMessage, type MockTool } from './openai-wire-chat';

/**
 * Mock of Mistral La Plateforme (`POST /v1/chat/completions`, `POST /v1/embeddings`, `GET /v1/models`) in its exact
 * wire format, strict like Mistral: unknown fields (OpenAI's `stream_options`, `seed`, `user`, `max_completion_tokens`…)
 * and the `developer` role are rejected with 422; tool_choice is auto/none/any/required or a function; tool-call ids
 * must be 9 letters or digits (else 400). Answers: ./openai-wire-chat.ts; a stream's last chunk (with
 * finish_reason) carries `usage`, there is no separate usage chunk. `gzip` answers gzip-encoded.
 */
export interface MistralMockOptions extends MockServerOptions {
  apiKey?: string;
  reply?: string;
  tool?: MockTool;
  gzip?: boolean;
  /** Leaves usage out of a stream's last chunk (to see the gateway estimate it). */
  streamWithoutUsage?: boolean;
}

const TOOL_CALL_ID = /^[A-Za-z0-9]{9}$/;
const content = z.union([z.string(), z.array(z.looseObject({ type: z.string() })), z.null()]);
const toolCall = z.looseObject({ id: z.string().optional(), type: z.literal('function').optional(), function: z.looseObject({ name: z.string(), arguments: z.union([z.string(), z.record(z.string(), z.unknown())]) }) });
const message = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('system'), content }),
  z.strictObject({ role: z.literal('user'), content }),
  z.strictObject({ role: z.literal('assistant'), content: content.optional(), tool_calls: z.array(toolCall).nullish(), prefix: z.boolean().optional() }),
  z.strictObject({ role: z.literal('tool'), content, tool_call_id: z.string().optional(), name: z.string().optional() }),
]);
const chatSchema = z.strictObject({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  max_tokens: z.number().int().min(0).nullish(),
  stream: z.boolean().nullish(),
  stop: z.union([z.string(), z.array(z.string())]).nullish(),
  random_seed: z.number().int().nullish(),
  response_format: z.looseObject({ type: z.enum(['text', 'json_object', 'json_schema']) }).nullish(),
  tools: z.array(z.looseObject({ type: z.literal('function').optional(), function: z.looseObject({ name: z.string() }) })).nullish(),
  tool_choice: z.union([z.enum(['auto', 'none', 'any', 'required']), z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) })]).nullish(),
  presence_penalty: z.number().nullish(),
  frequency_penalty: z.number().nullish(),
  n: z.number().int().nullish(),
  prediction: z.looseObject({}).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  safe_prompt: z.boolean().nullish(),
});
const embeddingsSchema = z.strictObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1)]),
  output_dimension: z.number().int().min(1).nullish(),
  output_dtype: z.string().nullish(),
  encoding_format: z.enum(['float', 'base64']).nullish(),
});

export class MistralMock extends MockProviderServer {
  readonly providerName = 'mistral';
  private sequence = 0;

  constructor(readonly options: MistralMockOptions = {}) {
    super(options);
  }

  protected routes(): MockRoute[] {
    return [
      { method: 'POST', path: '/v1/chat/completions', handle: (req, reply) => this.chat(req, reply) },
      { method: 'POST', path: '/v1/embeddings', handle: (req, reply) => this.embeddings(req, reply) },
      { method: 'GET', path: '/v1/models', handle: (_req, reply) => reply.json(200, { object: 'list', data: ['mistral-small-latest', 'mistral-embed'].map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'mistralai' })) }) },
    ];
  }

  protected override authenticate(request: RecordedRequest): void {
    if (this.options.apiKey !== undefined && request.headers.authorization !== `Bearer ${this.options.apiKey}`) throw new MockHttpError(401, 'Unauthorized', { type: 'unauthorized' });
  }

  protected renderError(error: MockHttpError): unknown {
    if (error.status === 401) return { message: error.message, request_id: 'mockreq1' };
    if (error.details.type === 'validation') {
      return { object: 'error', message: { detail: [{ type: error.details.code, loc: ['body', ...(error.details.param ?? '').split('.')], msg: error.message }] }, type: 'invalid_request_message_error', param: null, code: null };
    }
    return { object: 'error', message: error.message, type: error.details.type ?? 'invalid_request_error', param: null, code: error.details.code ?? null };
  }

  private async chat(request: RecordedRequest, reply: MockReply): Promise<void> {
    const body = parse(chatSchema, request.body);
    for (const m of body.messages) {
      const ids = m.role === 'assistant' ? (m.tool_calls ?? []).map((c) => c.id ?? '') : m.role === 'tool' ? [m.tool_call_id ?? ''] : [];
      const bad = ids.find((id) => !TOOL_CALL_ID.test(id));
      if (bad !== undefined) throw new MockHttpError(400, `Tool call id was ${bad} but must be a-z, A-Z, 0-9, with a length of 9.`);
    }
    const answer = wireAnswer(body, { reply: this.options.reply, tool: this.options.tool, toolCallId: `mist${this.nextId()}`, maxTokens: body.max_tokens });
    const id = `cmpl-${this.nextId()}`;
    const base = { id, created: Math.floor(Date.now() / 1000), model: body.model };
    if (!body.stream) {
      const json = { ...base, object: 'chat.completion', choices: [{ index: 0, message: wireMessage(answer), finish_reason: answer.finishReason }], usage: answer.usage };
      return this.options.gzip ? gzipReply(reply, 'json', json) : reply.json(200, json);
    }
    const deltas = wireDeltas(answer);
    const events = deltas.map(({ delta, finish }, i) => ({
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...(i === deltas.length - 1 && !this.options.streamWithoutUsage ? { usage: answer.usage } : {}),
    }));
    if (this.options.gzip) return gzipReply(reply, 'sse', sseFrames(events));
    await reply.stream({ contentType: 'text/event-stream; charset=utf-8', frames: sseFrames(events), malformedFrame: `data: {"id":"${id}","choices":[{"delta":{"content":"\n\n` });
  }

  private async embeddings(request: RecordedRequest, reply: MockReply): Promise<void> {
    const body = parse(embeddingsSchema, request.body);
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    const tokens = countWords(inputs.join(' '));
    const base64 = body.encoding_format === 'base64';
    await reply.json(200, {
      id: `emb-${this.nextId()}`,
      object: 'list',
      data: inputs.map((text, index) => {
        const vector = bagOfWordsVector(embeddingWords(text), body.output_dimension ?? 64);
        return { object: 'embedding', embedding: base64 ? float32Base64(vector) : vector, index };
      }),
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens, completion_tokens: 0 },
    });
  }

  private nextId(): string {
    this.sequence += 1;
    return this.sequence.toString(16).padStart(5, '0');
  }
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = issue.code === 'unrecognized_keys' ? `.${issue.keys.join(',')}` : '';
  const message = issue.code === 'unrecognized_keys' ? 'Extra inputs are not permitted' : issue.message;
  throw new MockHttpError(422, message, { type: 'validation', code: issue.code === 'unrecognized_keys' ? 'extra_forbidden' : issue.code, param: `${issue.path.join('.')}${key}` });
}
