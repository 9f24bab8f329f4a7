import { bagOfWordsVector, countWords, embeddingWords, float32Base64 } from './deterministic';
import { MockHttpError, MockProviderServer, type MockReply, type MockRoute, type MockServerOptions, type RecordedRequest } from './mock-server';
import { sseFrames, wireAnswer, wireDeltas, wireMessage, type MockTool, type WireChatRequest } from './openai-wire-chat';

/**
 * Mock of Azure OpenAI (`POST /openai/deployments/{deployment}/chat/completions|embeddings?api-version=…`) in its
 * exact wire format: OpenAI's, plus Azure's content filtering:
 * - every choice carries `content_filter_results`; a stream starts with a chunk of `prompt_filter_results`
 *   (`choices: []`, empty `model` and `id`), and `model` is the deployment's underlying model (`modelName`).
 * - a prompt containing `blockedWord` → 400 with code `content_filter` (and innererror ResponsibleAIPolicyViolation);
 *   an answer containing `filteredWord` is cut before it with finish_reason `content_filter`.
 * - requests must carry `api-key: <apiKey>` (else 401 as Azure answers it) and an `api-version` query parameter.
 * Answers, tools and JSON mode: ./openai-wire-chat.ts; usage chunk only with stream_options.include_usage.
 */
export interface AzureMockOptions extends MockServerOptions {
  apiKey?: string;
  reply?: string;
  tool?: MockTool;
  modelName?: string;
  blockedWord?: string;
  filteredWord?: string;
}

const SAFE = { hate: { filtered: false, severity: 'safe' }, self_harm: { filtered: false, severity: 'safe' }, sexual: { filtered: false, severity: 'safe' }, violence: { filtered: false, severity: 'safe' } };
const FILTERED = { ...SAFE, violence: { filtered: true, severity: 'high' } };

interface AzureChatRequest extends WireChatRequest {
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
}

export class AzureMock extends MockProviderServer {
  readonly providerName = 'azure';
  /** Deployment named by each request's path, in order. */
  readonly deployments: string[] = [];
  private sequence = 0;

  constructor(readonly options: AzureMockOptions = {}) {
    super(options);
  }

  protected routes(): MockRoute[] {
    return [
      { method: 'POST', path: /^\/openai\/deployments\/([^/]+)\/chat\/completions$/, handle: (req, reply, [d]) => this.chat(req, reply, d!) },
      { method: 'POST', path: /^\/openai\/deployments\/([^/]+)\/embeddings$/, handle: (req, reply, [d]) => this.embeddings(req, reply, d!) },
    ];
  }

  protected override authenticate(request: RecordedRequest): void {
    if (this.options.apiKey !== undefined && request.headers['api-key'] !== this.options.apiKey) {
      throw new MockHttpError(
        401,
        'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
        { code: '401' },
      );
    }
    if (!request.query.get('api-version')) throw new MockHttpError(404, 'Resource not found', { code: '404' });
  }

  protected renderError(error: MockHttpError): unknown {
    if (error.details.code === 'content_filter') {
      return {
        error: {
          message: error.message,
          type: null,
          param: 'prompt',
          code: 'content_filter',
          status: 400,
          innererror: { code: 'ResponsibleAIPolicyViolation', content_filter_result: FILTERED },
        },
      };
    }
    if (error.details.code && /^\d+$/.test(error.details.code)) return { error: { code: error.details.code, message: error.message } };
    return { error: { message: error.message, type: error.status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: error.details.code ?? null } };
  }

  private async chat(request: RecordedRequest, reply: MockReply, deployment: string): Promise<void> {
    this.deployments.push(decodeURIComponent(deployment));
    const body = request.body as AzureChatRequest | undefined;
    if (!body || !Array.isArray(body.messages)) throw new MockHttpError(400, "'messages' is a required property", { code: 'BadRequest' });
    const { blockedWord, filteredWord } = this.options;
    if (blockedWord && JSON.stringify(body.messages).includes(blockedWord)) {
      throw new MockHttpError(
        400,
        "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.",
        { code: 'content_filter' },
      );
    }
    const answer = wireAnswer(body, { reply: this.options.reply, tool: this.options.tool, toolCallId: `call_az${this.nextId()}`, maxTokens: body.max_completion_tokens ?? body.max_tokens });
    let filters = SAFE;
    const cut = filteredWord ? answer.text.indexOf(filteredWord) : -1;
    if (cut >= 0) {
      answer.text = answer.text.slice(0, cut).trimEnd();
      answer.finishReason = 'content_filter';
      answer.usage.completion_tokens = countWords(answer.text);
      answer.usage.total_tokens = answer.usage.prompt_tokens + answer.usage.completion_tokens;
      filters = FILTERED;
    }
    const id = `chatcmpl-az${this.nextId()}`;
    const created = Math.floor(Date.now() / 1000);
    const model = this.options.modelName ?? 'gpt-4o-2024-08-06';
    const promptFilter = [{ prompt_index: 0, content_filter_results: SAFE }];
    if (!body.stream) {
      await reply.json(200, {
        id,
        object: 'chat.completion',
        created,
        model,
        prompt_filter_results: promptFilter,
        choices: [{ index: 0, message: wireMessage(answer), logprobs: null, finish_reason: answer.finishReason, content_filter_results: filters }],
        usage: answer.usage,
        system_fingerprint: 'fp_azmock',
      });
      return;
    }
    const includeUsage = body.stream_options?.include_usage === true;
    const deltas = wireDeltas(answer);
    const events: unknown[] = [
      { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: promptFilter },
      ...deltas.map(({ delta, finish }, i) => ({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        system_fingerprint: 'fp_azmock',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, content_filter_results: i === 0 ? {} : finish === 'content_filter' ? filters : SAFE }],
        ...(includeUsage ? { usage: null } : {}),
      })),
      ...(includeUsage ? [{ id, object: 'chat.completion.chunk', created, model, choices: [], usage: answer.usage }] : []),
    ];
    await reply.stream({ contentType: 'text/event-stream', frames: sseFrames(events), malformedFrame: `data: {"id":"${id}","choices":[{"delta":{"content":"\n\n` });
  }

  private async embeddings(request: RecordedRequest, reply: MockReply, deployment: string): Promise<void> {
    this.deployments.push(decodeURIComponent(deployment));
    const body = request.body as { input?: unknown; dimensions?: number; encoding_format?: string } | undefined;
    const inputs = typeof body?.input === 'string' ? [body.input] : Array.isArray(body?.input) ? (body!.input as string[]) : undefined;
    if (!inputs) throw new MockHttpError(400, "'input' is a required property");
    const base64 = body?.encoding_format === 'base64';
    const tokens = countWords(inputs.join(' '));
    await reply.json(200, {
      object: 'list',
      data: inputs.map((text, index) => {
        const vector = bagOfWordsVector(embeddingWords(text), body?.dimensions ?? 64);
        return { object: 'embedding', index, embedding: base64 ? float32Base64(vector) : vector };
      }),
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  private nextId(): string {
    this.sequence += 1;
    return this.sequence.toString(16).padStart(6, '0');
  }
}
