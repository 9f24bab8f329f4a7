import { Sha256 } from '@aws-crypto/sha256-js';
import { EventStreamCodec, type MessageHeaders } from '@smithy/core/event-streams';
import { SignatureV4 } from '@smithy/signature-v4';
import { z } from 'zod';
import { bagOfWordsVector, countWords, deterministicAnswer, embeddingWords } from './deterministic';
import { type MockHttpError, MockProviderServer, type MockReply, type MockRoute, type MockServerOptions, type RecordedRequest } from './mock-server';

/**
 * Mock of Bedrock Runtime's Converse, ConverseStream and InvokeModel (Titan text embeddings) in their exact wire
 * format, behind real SigV4 authentication. Content and token counts follow ./deterministic.ts; in Bedrock's terms:
 * - every request's signature is recomputed with @smithy/signature-v4 (the AWS SDK's signer) from the known secret
 *   and compared: a mismatch, another region, a stale date or a missing/wrong session token → 403 with Bedrock's
 *   `x-amzn-errortype` (InvalidSignatureException, UnrecognizedClientException).
 * - the request is validated as Bedrock does (content blocks, roles alternating starting with user, toolConfig
 *   present when toolUse/toolResult blocks are) → 400 ValidationException.
 * - the answer echoes the last user turn's text (text blocks and toolResult texts); stopReason `max_tokens` when
 *   inferenceConfig.maxTokens cut it, else `end_turn`. With `toolUse` set and offered, a turn not ending in a
 *   toolResult gets one toolUse block (`tool_use`), streamed as 3 partial-JSON input deltas.
 * - usage: inputTokens = words of all system/message texts minus the configured cache reads/writes; output = answer
 *   words (a toolUse: its JSON input's length / 4, rounded up).
 * - streams are binary AWS eventstream messages (payloads carry Bedrock's `p` padding field), re-cut into pieces of
 *   `splitBytes` bytes when set; `streamException` replaces the rest of the stream by an exception message;
 *   `omitMetadata` drops the final metadata (usage) event.
 */
export interface BedrockMockOptions extends MockServerOptions {
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  reply?: string;
  label?: string;
  toolUse?: { name: string; input: Record<string, unknown> };
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  splitBytes?: number;
  streamException?: { afterEvents: number; type: string; message: string };
  omitMetadata?: boolean;
  chunkDelayMs?: number;
}

const blockSchema = z
  .object({
    text: z.string().min(1, 'text field is blank'),
    image: z.object({ format: z.enum(['png', 'jpeg', 'gif', 'webp']), source: z.object({ bytes: z.string().min(1) }).strict() }).strict(),
    document: z.object({ format: z.string(), name: z.string().min(1), source: z.object({ bytes: z.string().min(1) }).strict() }).strict(),
    toolUse: z.object({ toolUseId: z.string().regex(/^[a-zA-Z0-9_-]+$/), name: z.string().min(1), input: z.record(z.string(), z.unknown()) }).strict(),
    toolResult: z
      .object({
        toolUseId: z.string().regex(/^[a-zA-Z0-9_-]+$/),
        content: z.array(z.union([z.object({ text: z.string() }).strict(), z.object({ json: z.unknown() }).strict()])),
        status: z.enum(['success', 'error']).optional(),
      })
      .strict(),
  })
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length === 1, 'a content block must have exactly one member');
type Block = z.infer<typeof blockSchema>;

const converseSchema = z
  .object({
    messages: z.array(z.object({ role: z.enum(['user', 'assistant']), content: z.array(blockSchema).min(1) }).strict()).min(1),
    system: z.array(z.object({ text: z.string().min(1) }).strict()).optional(),
    inferenceConfig: z
      .object({ maxTokens: z.number().int().min(1).optional(), temperature: z.number().optional(), topP: z.number().optional(), stopSequences: z.array(z.string()).optional() })
      .strict()
      .optional(),
    toolConfig: z
      .object({
        tools: z.array(z.object({ toolSpec: z.object({ name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/), description: z.string().optional(), inputSchema: z.object({ json: z.record(z.string(), z.unknown()) }).strict() }).strict() }).strict()).min(1),
        toolChoice: z.union([z.object({ auto: z.object({}) }).strict(), z.object({ any: z.object({}) }).strict(), z.object({ tool: z.object({ name: z.string() }).strict() }).strict()]).optional(),
      })
      .strict()
      .optional(),
    outputConfig: z
      .object({ textFormat: z.object({ type: z.literal('json_schema'), structure: z.object({ jsonSchema: z.object({ schema: z.string(), name: z.string(), description: z.string().optional() }).strict() }).strict() }).strict() })
      .strict()
      .optional(),
  })
  .strict();
type ConverseRequest = z.infer<typeof converseSchema>;

const titanSchema = z.object({ inputText: z.string().min(1), dimensions: z.union([z.literal(256), z.literal(512), z.literal(1024)]).optional(), normalize: z.boolean().optional() }).strict();

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => Buffer.from(text, 'utf8'),
);

export class BedrockMock extends MockProviderServer {
  readonly providerName = 'bedrock';
  private sequence = 0;

  constructor(readonly options: BedrockMockOptions) {
    super(options);
  }

  protected routes(): MockRoute[] {
    return [
      { method: 'POST', path: /^\/model\/([^/]+)\/converse$/, handle: (req, reply) => this.converse(req, reply, false) },
      { method: 'POST', path: /^\/model\/([^/]+)\/converse-stream$/, handle: (req, reply) => this.converse(req, reply, true) },
      { method: 'POST', path: /^\/model\/([^/]+)\/invoke$/, handle: (req, reply, [model]) => this.invoke(req, reply, decodeURIComponent(model)) },
    ];
  }

  protected renderError(error: MockHttpError): unknown {
    return { message: error.message };
  }

  /** One binary eventstream message as Bedrock frames it. */
  static eventMessage(eventType: string, payload: Record<string, unknown>): Buffer {
    return encode({ ':event-type': str(eventType), ':content-type': str('application/json'), ':message-type': str('event') }, { ...payload, p: 'abcdefghijklmnopqrstuvwxyzABCDEF'.slice(0, 1 + (eventType.length % 30)) });
  }

  static exceptionMessage(type: string, message: string): Buffer {
    return encode({ ':exception-type': str(type), ':content-type': str('application/json'), ':message-type': str('exception') }, { message });
  }

  private async converse(request: RecordedRequest, reply: MockReply, stream: boolean): Promise<void> {
    if (!(await this.verified(request, reply))) return;
    const parsed = converseSchema.safeParse(request.body);
    if (!parsed.success) return fail(reply, 400, 'ValidationException', describe(parsed.error));
    const body = parsed.data;
    const problem = validationProblem(body);
    if (problem) return fail(reply, 400, 'ValidationException', problem);

    const prompt = promptWords(body);
    const cacheRead = Math.min(this.options.cacheReadTokens ?? 0, prompt);
    const cacheWrite = Math.min(this.options.cacheWriteTokens ?? 0, prompt - cacheRead);
    const tool = this.toolFor(body);
    const { words, stopReason } = deterministicAnswer({ lastUserText: lastUserText(body), reply: this.options.reply, label: this.options.label, maxTokens: body.inferenceConfig?.maxTokens });
    const stop = tool ? 'tool_use' : stopReason === 'length' ? 'max_tokens' : 'end_turn';
    const output = tool ? Math.ceil(JSON.stringify(tool.input).length / 4) : words.length;
    const input = prompt - cacheRead - cacheWrite;
    const usage = { inputTokens: input, outputTokens: output, totalTokens: input + output + cacheRead + cacheWrite, cacheReadInputTokens: cacheRead, cacheWriteInputTokens: cacheWrite };
    const toolUseId = `tooluse_mock${this.nextId()}`;
    const headers = { 'x-amzn-requestid': `mock-${this.nextId()}` };

    if (!stream) {
      const content = tool ? [{ toolUse: { toolUseId, name: tool.name, input: tool.input } }] : [{ text: words.join(' ') }];
      await reply.json(200, { output: { message: { role: 'assistant', content } }, stopReason: stop, usage, metrics: { latencyMs: 12 } }, headers);
      return;
    }
    const messages: Buffer[] = [BedrockMock.eventMessage('messageStart', { role: 'assistant' })];
    if (tool) {
      const json = JSON.stringify(tool.input);
      const third = Math.ceil(json.length / 3);
      messages.push(BedrockMock.eventMessage('contentBlockStart', { contentBlockIndex: 0, start: { toolUse: { toolUseId, name: tool.name } } }));
      for (let at = 0; at < json.length; at += third) messages.push(BedrockMock.eventMessage('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input: json.slice(at, at + third) } } }));
    } else {
      words.forEach((word, i) => messages.push(BedrockMock.eventMessage('contentBlockDelta', { contentBlockIndex: 0, delta: { text: i === 0 ? word : ` ${word}` } })));
    }
    messages.push(BedrockMock.eventMessage('contentBlockStop', { contentBlockIndex: 0 }), BedrockMock.eventMessage('messageStop', { stopReason: stop }));
    if (!this.options.omitMetadata) messages.push(BedrockMock.eventMessage('metadata', { usage, metrics: { latencyMs: 12 } }));
    const failure = this.options.streamException;
    if (failure) messages.splice(failure.afterEvents, messages.length, BedrockMock.exceptionMessage(failure.type, failure.message));
    const broken = Buffer.from(BedrockMock.eventMessage('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'x' } }));
    broken[broken.length - 1] ^= 0xff; // a message CRC that does not match
    await reply.stream({
      contentType: 'application/vnd.amazon.eventstream',
      frames: resplit(messages, this.options.splitBytes),
      malformedFrame: broken,
      headers,
      chunkDelayMs: this.options.chunkDelayMs,
    });
  }

  private async invoke(request: RecordedRequest, reply: MockReply, model: string): Promise<void> {
    if (!(await this.verified(request, reply))) return;
    if (!model.startsWith('amazon.titan-embed')) return fail(reply, 400, 'ValidationException', `this mock serves InvokeModel for Titan embeddings only, not ${model}`);
    const parsed = titanSchema.safeParse(request.body);
    if (!parsed.success) return fail(reply, 400, 'ValidationException', describe(parsed.error));
    const words = embeddingWords(parsed.data.inputText);
    await reply.json(200, { embedding: bagOfWordsVector(words, parsed.data.dimensions ?? 1024), inputTextTokenCount: countWords(parsed.data.inputText) });
  }

  /** Recomputes the request's SigV4 signature; answers 403 as Bedrock does and returns false when it does not hold. */
  private async verified(request: RecordedRequest, reply: MockReply): Promise<boolean> {
    const { credentials, region } = this.options;
    const auth = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(header(request, 'authorization'));
    if (!auth) return denied(reply, 'InvalidSignatureException', 'Authorization header requires a valid AWS4-HMAC-SHA256 Credential, SignedHeaders and Signature.');
    const [, keyId, , scopeRegion, service, signedHeaders, signature] = auth;
    if (keyId !== credentials.accessKeyId) return denied(reply, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    if (scopeRegion !== region || service !== 'bedrock') return denied(reply, 'InvalidSignatureException', `Credential should be scoped to a valid region and service: ${region}/bedrock.`);
    const names = signedHeaders.split(';');
    if (!names.includes('host') || !names.includes('x-amz-date')) return denied(reply, 'InvalidSignatureException', 'host and x-amz-date must be signed.');
    if (credentials.sessionToken && (!names.includes('x-amz-security-token') || header(request, 'x-amz-security-token') !== credentials.sessionToken)) {
      return denied(reply, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    }
    const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(header(request, 'x-amz-date'));
    const signingDate = date ? new Date(Date.UTC(+date[1], +date[2] - 1, +date[3], +date[4], +date[5], +date[6])) : undefined;
    if (!signingDate || Math.abs(Date.now() - signingDate.getTime()) > 5 * 60_000) return denied(reply, 'InvalidSignatureException', 'Signature expired or x-amz-date missing.');
    const hostHeader = header(request, 'host');
    const signer = new SignatureV4({ credentials, region, service: 'bedrock', sha256: Sha256, applyChecksum: false });
    const expected = await signer.sign(
      {
        method: request.method,
        protocol: 'http:',
        hostname: hostHeader.replace(/:\d+$/, ''),
        path: request.path,
        query: Object.fromEntries(request.query),
        headers: Object.fromEntries(names.map((name) => [name, header(request, name)])),
        body: request.rawBody,
      },
      { signingDate },
    );
    const expectedSignature = /Signature=([0-9a-f]{64})/.exec(String(expected.headers.authorization))?.[1];
    if (expectedSignature !== signature) {
      return denied(reply, 'InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
    }
    return true;
  }

  private toolFor(body: ConverseRequest): BedrockMockOptions['toolUse'] {
    const tool = this.options.toolUse;
    if (!tool || !body.toolConfig?.tools.some((t) => t.toolSpec.name === tool.name)) return undefined;
    const last = body.messages.at(-1)!;
    return last.content.some((b) => b.toolResult) ? undefined : tool;
  }

  private nextId(): string {
    this.sequence += 1;
    return this.sequence.toString(16).padStart(8, '0');
  }
}

const str = (value: string) => ({ type: 'string' as const, value });

function encode(headers: MessageHeaders, payload: Record<string, unknown>): Buffer {
  return Buffer.from(codec.encode({ headers, body: Buffer.from(JSON.stringify(payload)) }));
}

/** The stream's bytes re-cut into pieces of `size` bytes (messages split anywhere, several per piece). */
export function resplit(messages: Buffer[], size: number | undefined): Buffer[] {
  if (!size) return messages;
  const all = Buffer.concat(messages);
  const pieces: Buffer[] = [];
  for (let at = 0; at < all.length; at += size) pieces.push(all.subarray(at, at + size));
  return pieces;
}

function header(request: RecordedRequest, name: string): string {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

async function fail(reply: MockReply, status: number, type: string, message: string): Promise<void> {
  await reply.json(status, { message }, { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` });
}

async function denied(reply: MockReply, type: string, message: string): Promise<false> {
  await fail(reply, 403, type, message);
  return false;
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  return `1 validation error detected: Value at '${issue?.path.join('.') || 'body'}' failed to satisfy constraint: ${issue?.message ?? 'invalid request'}`;
}

/** Bedrock's rules beyond the shapes: alternating roles starting with user, tool blocks only with a toolConfig. */
function validationProblem(body: ConverseRequest): string | undefined {
  if (body.messages[0].role !== 'user') return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.';
  for (let i = 1; i < body.messages.length; i++) {
    if (body.messages[i].role === body.messages[i - 1].role) return 'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.';
  }
  const usesTools = body.messages.some((m) => m.content.some((b) => b.toolUse || b.toolResult));
  if (usesTools && !body.toolConfig) return 'The toolConfig field must be defined when using toolUse and toolResult content blocks.';
  return undefined;
}

function blockText(block: Block): string {
  if (block.text !== undefined) return block.text;
  if (block.toolResult) return block.toolResult.content.map((c) => ('text' in c ? c.text : JSON.stringify(c.json))).join(' ');
  return '';
}

function promptWords(body: ConverseRequest): number {
  const texts = [...(body.system ?? []).map((s) => s.text), ...body.messages.flatMap((m) => m.content.map(blockText))];
  return countWords(texts.join(' '));
}

function lastUserText(body: ConverseRequest): string {
  const user = [...body.messages].reverse().find((m) => m.role === 'user');
  return user ? user.content.map(blockText).join(' ') : '';
}

