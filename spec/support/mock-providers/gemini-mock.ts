import { z } from 'zod';
import { bagOfWordsVector, countWords, deterministicAnswer, embeddingWords } from './deterministic';
import { MockHttpError, MockProviderServer, type MockReply, type MockRoute, type MockServerOptions, type RecordedRequest } from './mock-server';

/**
 * Mock of Google Gemini in both URL shapes, in Google's exact wire format:
 * - Google AI Studio: `/v1beta/models/{model}:generateContent | :streamGenerateContent?alt=sse | :batchEmbedContents`
 *   and `GET /v1beta/models`, authenticated by `x-goog-api-key`.
 * - Vertex AI: `/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent |
 *   :streamGenerateContent?alt=sse | :predict`, authenticated by `Authorization: Bearer <access token>`.
 * Content and token counts follow ./deterministic.ts; in Gemini's terms:
 * - the answer echoes the text of the last user turn (its text parts and the `content` of its functionResponse
 *   parts); finishReason is MAX_TOKENS when `generationConfig.maxOutputTokens` cut it, else STOP.
 * - with `functionCall` set and that function declared, a turn without a functionResponse is answered with one
 *   functionCall part (with `thoughtSignature` when configured).
 * - a last user turn containing `[block-prompt]` gets `promptFeedback.blockReason: SAFETY` and no candidates;
 *   `[unsafe-answer]` gets a candidate with finishReason SAFETY and no content.
 * - usageMetadata: promptTokenCount = words of systemInstruction and every text part; candidatesTokenCount = answer
 *   words (a function call: 5); thoughtsTokenCount = `thoughtsTokens` (when set); cachedContentTokenCount =
 *   `cachedTokens` (when set); totalTokenCount = the sum. Streams repeat the cumulative usage in every event
 *   (`omitUsage`: none at all).
 * - streaming: one `data: …\r\n\r\n` event per word, the last one also carrying finishReason; `streamError` replaces
 *   the events from `afterFrames` on with one `{"error":{…}}` event.
 * - embeddings: `outputDimensionality` (default 64) floats of the bag-of-words vector; Vertex adds
 *   `statistics.token_count` (words).
 * - requests are checked as Gemini checks them: roles alternate user/model, parts are not empty, and function
 *   parameters hold only fields of Gemini's Schema (else 400 INVALID_ARGUMENT).
 * - errors: `{"error":{"code","message","status"}}`.
 */
export interface GeminiMockOptions extends MockServerOptions {
  /** AI Studio: `x-goog-api-key` must be this. */
  apiKey?: string;
  /** Vertex AI: `Authorization: Bearer` must be this. */
  accessToken?: string;
  reply?: string;
  label?: string;
  chunkDelayMs?: number;
  functionCall?: { name: string; args: Record<string, unknown>; thoughtSignature?: string };
  thoughtsTokens?: number;
  cachedTokens?: number;
  omitUsage?: boolean;
  streamError?: { afterFrames: number; code: number; status: string; message: string };
  models?: string[];
}

const partSchema = z.looseObject({
  text: z.string().optional(),
  inlineData: z.looseObject({ mimeType: z.string().min(1), data: z.string() }).optional(),
  fileData: z.looseObject({ mimeType: z.string().min(1), fileUri: z.string().min(1) }).optional(),
  functionCall: z.looseObject({ name: z.string().min(1), args: z.record(z.string(), z.unknown()).optional() }).optional(),
  functionResponse: z.looseObject({ name: z.string().min(1), response: z.record(z.string(), z.unknown()) }).optional(),
});
const contentSchema = z.looseObject({ role: z.enum(['user', 'model']), parts: z.array(partSchema).min(1) });
const generateRequestSchema = z.looseObject({
  contents: z.array(contentSchema).min(1),
  systemInstruction: z.looseObject({ parts: z.array(partSchema).min(1) }).optional(),
  tools: z.array(z.looseObject({ functionDeclarations: z.array(z.looseObject({ name: z.string().min(1), parameters: z.unknown().optional() })).optional() })).optional(),
  generationConfig: z.looseObject({ maxOutputTokens: z.number().int().min(1).optional() }).optional(),
});
type GenerateRequest = z.infer<typeof generateRequestSchema>;

const batchEmbedSchema = z.looseObject({
  requests: z
    .array(z.looseObject({ model: z.string().regex(/^models\//), content: z.looseObject({ parts: z.array(z.looseObject({ text: z.string() })).min(1) }), outputDimensionality: z.number().int().min(1).optional() }))
    .min(1),
});
const predictSchema = z.looseObject({
  instances: z.array(z.looseObject({ content: z.string() })).min(1),
  parameters: z.looseObject({ outputDimensionality: z.number().int().min(1).optional() }).optional(),
});

/** The fields of Gemini's Schema object; anything else in function parameters is rejected as Gemini does. */
const SCHEMA_FIELDS = new Set(['type', 'format', 'title', 'description', 'nullable', 'enum', 'default', 'example', 'items', 'minItems', 'maxItems', 'properties', 'required', 'minProperties', 'maxProperties', 'propertyOrdering', 'minLength', 'maxLength', 'pattern', 'minimum', 'maximum', 'anyOf']);

const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' };
const MODEL_VERSION_SUFFIX = '-001';
const DEFAULT_MODELS = ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-embedding-001'];

export class GeminiMock extends MockProviderServer {
  readonly providerName = 'gemini';
  private sequence = 0;

  constructor(readonly options: GeminiMockOptions = {}) {
    super(options);
  }

  protected routes(): MockRoute[] {
    const aiStudio = /^\/v1beta\/models\/([^/:]+):([A-Za-z]+)$/;
    const vertex = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([^/:]+):([A-Za-z]+)$/;
    return [
      { method: 'POST', path: aiStudio, handle: (req, reply, [model, method]) => this.method(req, reply, decodeURIComponent(model ?? ''), method ?? '', 'ai-studio') },
      { method: 'POST', path: vertex, handle: (req, reply, [, , model, method]) => this.method(req, reply, decodeURIComponent(model ?? ''), method ?? '', 'vertex') },
      { method: 'GET', path: '/v1beta/models', handle: (_req, reply) => this.listModels(reply) },
    ];
  }

  protected override authenticate(request: RecordedRequest): void {
    if (request.path.startsWith('/v1beta/')) {
      if (this.options.apiKey !== undefined && request.headers['x-goog-api-key'] !== this.options.apiKey) {
        throw new MockHttpError(400, 'API key not valid. Please pass a valid API key.');
      }
    } else if (this.options.accessToken !== undefined && request.headers.authorization !== `Bearer ${this.options.accessToken}`) {
      throw new MockHttpError(401, 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
    }
  }

  protected renderError(error: MockHttpError): unknown {
    return { error: { code: error.status, message: error.message, status: error.details.type ?? STATUS_NAMES[error.status] ?? 'UNKNOWN' } };
  }

  private async method(request: RecordedRequest, reply: MockReply, model: string, method: string, api: 'ai-studio' | 'vertex'): Promise<void> {
    if (method === 'generateContent') return this.generate(request, reply, model, false);
    if (method === 'streamGenerateContent') {
      if (request.query.get('alt') !== 'sse') throw new MockHttpError(400, 'this mock streams Server-Sent Events only (alt=sse)');
      return this.generate(request, reply, model, true);
    }
    if (method === 'batchEmbedContents' && api === 'ai-studio') return this.batchEmbed(request, reply, model);
    if (method === 'predict' && api === 'vertex') return this.predict(request, reply);
    throw new MockHttpError(404, `Method ${method} is not found for model ${model}.`);
  }

  private async generate(request: RecordedRequest, reply: MockReply, model: string, stream: boolean): Promise<void> {
    const body = parseBody(generateRequestSchema, request.body);
    checkGenerateRequest(body);
    const responseId = `mockresp${this.nextId()}`;
    const common = { modelVersion: `${model}${MODEL_VERSION_SUFFIX}`, responseId };
    const prompt = promptWords(body);
    const lastUser = lastUserText(body);
    const usage = (candidates: number | undefined) => this.usageMetadata(prompt, candidates);

    if (lastUser.includes('[block-prompt]')) {
      const blocked = { promptFeedback: { blockReason: 'SAFETY', safetyRatings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true }] }, ...usage(undefined), ...common };
      return stream ? this.sendStream(reply, [blocked]) : reply.json(200, blocked);
    }
    if (lastUser.includes('[unsafe-answer]')) {
      const unsafe = { candidates: [{ finishReason: 'SAFETY', index: 0, safetyRatings: [{ category: 'HARM_CATEGORY_HARASSMENT', probability: 'HIGH', blocked: true }] }], ...usage(0), ...common };
      return stream ? this.sendStream(reply, [unsafe]) : reply.json(200, unsafe);
    }
    const call = this.functionCallFor(body);
    if (call) {
      const part = { functionCall: { name: call.name, args: call.args }, ...(call.thoughtSignature ? { thoughtSignature: call.thoughtSignature } : {}) };
      const answer = { candidates: [{ content: { role: 'model', parts: [part] }, finishReason: 'STOP', index: 0 }], ...usage(5), ...common };
      return stream ? this.sendStream(reply, [answer]) : reply.json(200, answer);
    }
    const { words, stopReason } = deterministicAnswer({ lastUserText: lastUser, reply: this.options.reply, label: this.options.label, maxTokens: body.generationConfig?.maxOutputTokens });
    const finishReason = stopReason === 'length' ? 'MAX_TOKENS' : 'STOP';
    if (!stream) {
      await reply.json(200, { candidates: [{ content: { role: 'model', parts: [{ text: words.join(' ') }] }, finishReason, index: 0 }], ...usage(words.length), ...common });
      return;
    }
    const events = words.map((word, i) => ({
      candidates: [{ content: { role: 'model', parts: [{ text: i === 0 ? word : ` ${word}` }] }, ...(i === words.length - 1 ? { finishReason } : {}), index: 0 }],
      ...usage(i + 1),
      ...common,
    }));
    await this.sendStream(reply, events);
  }

  private async sendStream(reply: MockReply, events: unknown[]): Promise<void> {
    const frames = events.map((event) => `data: ${JSON.stringify(event)}\r\n\r\n`);
    const failure = this.options.streamError;
    if (failure) frames.splice(failure.afterFrames, frames.length, `data: ${JSON.stringify({ error: { code: failure.code, message: failure.message, status: failure.status } })}\r\n\r\n`);
    await reply.stream({
      contentType: 'text/event-stream',
      frames,
      malformedFrame: 'data: {"candidates": [{"content": {"parts": [{"text": "\r\n\r\n',
      chunkDelayMs: this.options.chunkDelayMs,
    });
  }

  private usageMetadata(prompt: number, candidates: number | undefined): Record<string, unknown> {
    if (this.options.omitUsage) return {};
    const thoughts = candidates === undefined ? undefined : this.options.thoughtsTokens;
    const cached = this.options.cachedTokens === undefined ? undefined : Math.min(this.options.cachedTokens, prompt);
    return {
      usageMetadata: {
        promptTokenCount: prompt,
        ...(candidates !== undefined ? { candidatesTokenCount: candidates } : {}),
        totalTokenCount: prompt + (candidates ?? 0) + (thoughts ?? 0),
        ...(cached !== undefined ? { cachedContentTokenCount: cached } : {}),
        ...(thoughts !== undefined ? { thoughtsTokenCount: thoughts } : {}),
        promptTokensDetails: [{ modality: 'TEXT', tokenCount: prompt }],
      },
    };
  }

  private functionCallFor(body: GenerateRequest): GeminiMockOptions['functionCall'] {
    const call = this.options.functionCall;
    const declared = body.tools?.some((t) => t.functionDeclarations?.some((f) => f.name === call?.name));
    if (!call || !declared) return undefined;
    const last = body.contents.at(-1)!;
    return last.parts.some((p) => p.functionResponse) ? undefined : call;
  }

  private async batchEmbed(request: RecordedRequest, reply: MockReply, model: string): Promise<void> {
    const body = parseBody(batchEmbedSchema, request.body);
    for (const [i, r] of body.requests.entries()) {
      if (r.model !== `models/${model}`) throw new MockHttpError(400, `requests[${i}].model: must match the batch's model models/${model}`);
    }
    await reply.json(200, {
      embeddings: body.requests.map((r) => ({ values: bagOfWordsVector(embeddingWords(r.content.parts.map((p) => p.text).join(' ')), r.outputDimensionality ?? 64) })),
    });
  }

  private async predict(request: RecordedRequest, reply: MockReply): Promise<void> {
    const body = parseBody(predictSchema, request.body);
    const dimensions = body.parameters?.outputDimensionality ?? 64;
    await reply.json(200, {
      predictions: body.instances.map((instance) => ({
        embeddings: { values: bagOfWordsVector(embeddingWords(instance.content), dimensions), statistics: { truncated: false, token_count: countWords(instance.content) } },
      })),
      metadata: { billableCharacterCount: body.instances.reduce((sum, instance) => sum + instance.content.length, 0) },
    });
  }

  private async listModels(reply: MockReply): Promise<void> {
    const ids = this.options.models ?? DEFAULT_MODELS;
    await reply.json(200, {
      models: ids.map((id) => ({
        name: `models/${id}`,
        version: '001',
        displayName: id,
        inputTokenLimit: 1_048_576,
        outputTokenLimit: 65_536,
        supportedGenerationMethods: id.includes('embedding') ? ['embedContent'] : ['generateContent', 'countTokens'],
      })),
    });
  }

  private nextId(): string {
    this.sequence += 1;
    return this.sequence.toString(16).padStart(8, '0');
  }
}

function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new MockHttpError(400, `Invalid JSON payload received. ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid request'}`);
}

function checkGenerateRequest(body: GenerateRequest): void {
  body.contents.forEach((c, i) => {
    if (i > 0 && body.contents[i - 1]!.role === c.role) throw new MockHttpError(400, `contents[${i}]: roles must alternate between user and model`);
  });
  body.tools?.forEach((tool, t) =>
    tool.functionDeclarations?.forEach((fn, f) => {
      const unknown = fn.parameters === undefined ? undefined : unknownSchemaField(fn.parameters);
      if (unknown) throw new MockHttpError(400, `Invalid JSON payload received. Unknown name "${unknown}" at 'tools[${t}].function_declarations[${f}].parameters': Cannot find field.`);
    }),
  );
}

function unknownSchemaField(schema: unknown): string | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const s = schema as Record<string, unknown>;
  for (const key of Object.keys(s)) if (!SCHEMA_FIELDS.has(key)) return key;
  const nested = [...Object.values((s.properties as Record<string, unknown>) ?? {}), s.items, ...((s.anyOf as unknown[]) ?? [])];
  for (const child of nested) {
    const found = unknownSchemaField(child);
    if (found) return found;
  }
  return undefined;
}

type Part = z.infer<typeof partSchema>;
function partText(part: Part): string {
  if (part.text !== undefined) return part.text;
  const content = part.functionResponse?.response.content;
  return content === undefined ? '' : typeof content === 'string' ? content : JSON.stringify(content);
}

function promptWords(body: GenerateRequest): number {
  const texts = [...(body.systemInstruction?.parts ?? []), ...body.contents.flatMap((c) => c.parts)].map(partText);
  return countWords(texts.join(' '));
}

function lastUserText(body: GenerateRequest): string {
  const user = [...body.contents].reverse().find((c) => c.role === 'user');
  return user ? user.parts.map(partText).filter((t) => t !== '').join(' ') : '';
}
