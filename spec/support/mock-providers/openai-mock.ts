import { z } from 'zod';
import { bagOfWordsVector, countWords, deterministicAnswer, embeddingWords, float32Base64 } from './deterministic';
import { MockHttpError, MockProviderServer, type MockReply, type MockRoute, type MockServerOptions, type RecordedRequest } from './mock-server';

/**
 * Mock of the OpenAI API (`/v1/chat/completions`, `/v1/embeddings`, `/v1/models`) in OpenAI's exact wire format.
 * Content, token counts and embeddings follow ./deterministic.ts; in OpenAI's terms:
 * - `finish_reason` is `length` when `max_completion_tokens` (or `max_tokens`) cut the answer, else `stop`.
 * - `prompt_tokens` = words of every message's text (string content or the `text` of its parts; roles and other fields
 *   count nothing); `completion_tokens` = words of the answer + `reasoningTokens`;
 *   `prompt_tokens_details.cached_tokens` = min(`cachedPromptTokens`, prompt_tokens).
 * - streaming: one chunk with `role`, one chunk per word (`"Echo:"`, `" hello"`, …), one chunk with `finish_reason`,
 *   then, only with `stream_options.include_usage`, a chunk with `choices: []` and the usage; then `data: [DONE]`.
 * - embeddings: `dimensions` defaults to 64; usage = words of the inputs (a token-array input counts its elements).
 */

export interface OpenAiMockOptions extends MockServerOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>`, else 401 as OpenAI answers it. */
  apiKey?: string;
  /** Answer text instead of `Echo: <last user message>`. */
  reply?: string | ((request: ChatRequest) => string);
  /** Answers start with `[<label> upstream] ` (the demo upstream runs with label `demo`). */
  label?: string;
  /** Delay between stream chunks (a fault's `chunkDelayMs` wins). */
  chunkDelayMs?: number;
  cachedPromptTokens?: number;
  reasoningTokens?: number;
  embeddingDimensions?: number;
  /** Ids listed by `/v1/models`. */
  models?: string[];
}

const textPartSchema = z.looseObject({ type: z.string(), text: z.string().optional() });
const messageSchema = z.looseObject({
  role: z.string().min(1),
  content: z.union([z.string(), z.array(textPartSchema), z.null()]).optional(),
});
const chatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(messageSchema).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;

const embeddingsRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1), z.array(z.number().int()).min(1), z.array(z.array(z.number().int()).min(1)).min(1)]),
  encoding_format: z.enum(['float', 'base64']).nullish(),
  dimensions: z.number().int().min(1).max(4096).nullish(),
});

const DEFAULT_MODELS = ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'];
const SYSTEM_FINGERPRINT = 'fp_mock0001';
const MODEL_CREATED = 1_700_000_000;

export class OpenAiMock extends MockProviderServer {
  readonly providerName = 'openai';
  private sequence = 0;

  constructor(readonly options: OpenAiMockOptions = {}) {
    super(options);
  }

  protected routes(): MockRoute[] {
    return [
      { method: 'POST', path: '/v1/chat/completions', handle: (req, reply) => this.chat(req, reply) },
      { method: 'POST', path: '/v1/embeddings', handle: (req, reply) => this.embeddings(req, reply) },
      { method: 'GET', path: '/v1/models', handle: (_req, reply) => this.listModels(reply) },
      { method: 'GET', path: /^\/v1\/models\/([^/]+)$/, handle: (_req, reply, [id]) => this.getModel(decodeURIComponent(id ?? ''), reply) },
    ];
  }

  protected override authenticate(request: RecordedRequest): void {
    const expected = this.options.apiKey;
    if (expected === undefined) return;
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer ')) {
      throw new MockHttpError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      );
    }
    if (header.slice('Bearer '.length) !== expected) {
      throw new MockHttpError(401, 'Incorrect API key provided.', { code: 'invalid_api_key' });
    }
  }

  /** OpenAI's error envelope. */
  protected renderError(error: MockHttpError): unknown {
    const { type, code = null, param = null } = { ...defaultErrorDetails(error.status), ...error.details };
    return { error: { message: error.message, type, param, code } };
  }

  private async chat(request: RecordedRequest, reply: MockReply): Promise<void> {
    const body = parseBody(chatRequestSchema, request.body);
    const id = `chatcmpl-mock${this.nextId()}`;
    const created = Math.floor(Date.now() / 1000);
    const { words, finishReason } = this.answerWords(body);
    const usage = this.usage(countWords(body.messages.map(messageText).join(' ')), words.length);
    const headers = { 'x-request-id': `req_mock${id.slice(-8)}`, 'openai-processing-ms': '1' };

    if (!body.stream) {
      await reply.json(
        200,
        {
          id,
          object: 'chat.completion',
          created,
          model: body.model,
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: words.join(' '), refusal: null, annotations: [] },
              logprobs: null,
              finish_reason: finishReason,
            },
          ],
          usage,
          service_tier: 'default',
          system_fingerprint: SYSTEM_FINGERPRINT,
        },
        headers,
      );
      return;
    }

    const includeUsage = body.stream_options?.include_usage === true;
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: body.model,
      service_tier: 'default',
      system_fingerprint: SYSTEM_FINGERPRINT,
      choices,
      ...(includeUsage ? { usage: null } : {}),
      ...extra,
    });
    const choice = (delta: Record<string, unknown>, finish: string | null = null) => ({ index: 0, delta, logprobs: null, finish_reason: finish });
    const events: unknown[] = [
      chunk([choice({ role: 'assistant', content: '', refusal: null })]),
      ...words.map((word, i) => chunk([choice({ content: i === 0 ? word : ` ${word}` })])),
      chunk([choice({}, finishReason)]),
      ...(includeUsage ? [chunk([], { usage })] : []),
    ];
    await reply.stream({
      contentType: 'text/event-stream; charset=utf-8',
      frames: [...events.map((event) => `data: ${JSON.stringify(event)}\n\n`), 'data: [DONE]\n\n'],
      malformedFrame: `data: {"id":"${id}","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"\n\n`,
      headers,
      chunkDelayMs: this.options.chunkDelayMs,
    });
  }

  private answerWords(body: ChatRequest): { words: string[]; finishReason: 'stop' | 'length' } {
    const { reply, label } = this.options;
    const { words, stopReason } = deterministicAnswer({
      lastUserText: lastUserText(body),
      reply: typeof reply === 'function' ? reply(body) : reply,
      label,
      maxTokens: body.max_completion_tokens ?? body.max_tokens,
    });
    return { words, finishReason: stopReason };
  }

  private usage(promptTokens: number, answerTokens: number) {
    const reasoning = this.options.reasoningTokens ?? 0;
    const completion = answerTokens + reasoning;
    return {
      prompt_tokens: promptTokens,
      completion_tokens: completion,
      total_tokens: promptTokens + completion,
      prompt_tokens_details: { cached_tokens: Math.min(this.options.cachedPromptTokens ?? 0, promptTokens), audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
  }

  private async embeddings(request: RecordedRequest, reply: MockReply): Promise<void> {
    const body = parseBody(embeddingsRequestSchema, request.body);
    const inputs = embeddingInputs(body.input);
    const dimensions = body.dimensions ?? this.options.embeddingDimensions ?? 64;
    const base64 = body.encoding_format === 'base64';
    const tokens = inputs.reduce((sum, input) => sum + input.tokens, 0);
    await reply.json(
      200,
      {
        object: 'list',
        data: inputs.map((input, index) => {
          const vector = bagOfWordsVector(input.words, dimensions);
          return { object: 'embedding', index, embedding: base64 ? float32Base64(vector) : vector };
        }),
        model: body.model,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      },
      { 'x-request-id': `req_mock${this.nextId()}` },
    );
  }

  private async listModels(reply: MockReply): Promise<void> {
    await reply.json(200, { object: 'list', data: this.modelIds().map(modelEntry) });
  }

  private async getModel(id: string, reply: MockReply): Promise<void> {
    if (!this.modelIds().includes(id)) {
      throw new MockHttpError(404, `The model '${id}' does not exist`, { param: 'model', code: 'model_not_found' });
    }
    await reply.json(200, modelEntry(id));
  }

  private modelIds(): string[] {
    return this.options.models ?? DEFAULT_MODELS;
  }

  private nextId(): string {
    this.sequence += 1;
    return this.sequence.toString(16).padStart(8, '0');
  }
}

function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (body === undefined) {
    throw new MockHttpError(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)");
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = issue?.path.join('.') ?? null;
  throw new MockHttpError(400, `Invalid value for '${param}': ${issue?.message ?? 'invalid request'}`, { param });
}

/** What OpenAI sends for a status when the error itself does not say (injected faults). */
function defaultErrorDetails(status: number): { type: string; code?: string } {
  if (status === 429) return { type: 'requests', code: 'rate_limit_exceeded' };
  if (status >= 500) return { type: 'server_error' };
  return { type: 'invalid_request_error' };
}

function modelEntry(id: string) {
  return { id, object: 'model', created: MODEL_CREATED, owned_by: 'openai' };
}

function messageText(message: ChatRequest['messages'][number]): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  if (!content) return '';
  return content.map((part) => part.text ?? '').join(' ');
}

function lastUserText(body: ChatRequest): string {
  const user = [...body.messages].reverse().find((m) => m.role === 'user');
  return user ? messageText(user) : '';
}

interface EmbeddingInput {
  words: string[];
  tokens: number;
}

function embeddingInputs(input: z.infer<typeof embeddingsRequestSchema>['input']): EmbeddingInput[] {
  if (typeof input === 'string') return [textInput(input)];
  if (input.every((item): item is string => typeof item === 'string')) return input.map(textInput);
  if (input.every((item): item is number => typeof item === 'number')) return [tokenInput(input)];
  return (input as number[][]).map(tokenInput);
}

function textInput(text: string): EmbeddingInput {
  return { words: embeddingWords(text), tokens: countWords(text) };
}

function tokenInput(tokens: number[]): EmbeddingInput {
  return { words: tokens.map((t) => `t${t}`), tokens: tokens.length };
}
