import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { ForwardedRequest, Identity, RequestContext } from '../context';
import type { PluginName } from '../plugin-definition';
import type { ErrorFormat, InboundApi } from './api';

/** Token usage of one call, normalised across providers. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens?: number;
  /** prompt tokens written to the provider's prompt cache (Anthropic), priced apart */
  cacheWriteTokens?: number;
  reasoningTokens?: number;
  /** true when counted by us rather than reported by the provider */
  estimated: boolean;
}

/** One LLM call as it moves through the relay: the request, and what is learnt on the way back. */
export interface Exchange {
  ctx: RequestContext;
  identity: Identity;
  forwarded: ForwardedRequest;
  api: InboundApi;
  errorFormat: ErrorFormat;
  method: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** The parsed JSON body (undefined for bodiless requests). Stages may replace fields before llm-proxy runs. */
  body: Record<string, unknown> | undefined;
  /**
   * Set when the client spoke another API than the OpenAI shape the stages read (an Anthropic Messages request):
   * `api` and `body` are then already translated (see RelayStage.normalizeRequest), and this is what the client
   * really sent, for the answer's format and for pass-through to a provider of the same API.
   */
  inbound?: InboundRequest;
  startedAt: number;
  /** Aborted when the client goes away: upstream calls must stop. */
  signal: AbortSignal;
  /** Headers added to whatever answer the client gets (observability outlet 1, DESIGN §3). */
  responseHeaders: Record<string, string>;
  stream: boolean;
  /**
   * Where llm-proxy expects to send the request (its first-choice target), set before any stage runs so that limits
   * and budgets reserve at the right model's price even when the client names a logical model. The call may still
   * go elsewhere (fallback): `provider` and `model` below say where it went.
   */
  planned?: { provider: string; model: string; logicalModel?: string };
  provider?: string;
  model?: string;
  usage?: Usage;
  status?: number;
  firstByteAt?: number;
  error?: { code: string; message: string };
  /** Which stage answered instead of the provider (a block, a cache hit, a limit), if one did. */
  answeredBy?: PluginName;
  /** Per-request state of each plugin (stages are shared by all requests with the same config). */
  pluginState: Partial<Record<PluginName, unknown>>;
  /** What each plugin adds to the usage event, under its own key (e.g. limits, cost, pii, cache). */
  annotations: Record<string, unknown>;
  /** The stages of the plugins Kong ran for this request, in priority order. */
  stages: RelayStage[];
}

/** The client's own request, kept when the relay translated it into the OpenAI shape. */
export interface InboundRequest {
  api: InboundApi;
  body: Record<string, unknown>;
  /** Whatever the translator needs later (e.g. to apply the stages' edits back to the original); opaque here. */
  translation?: unknown;
}

/** A chat completion and a streamed chunk in OpenAI's shape, the suite's common answer format. */
export interface ChatCompletion {
  model?: string;
  choices: { index: number; message: Record<string, unknown> & { content?: string | null }; finish_reason?: string | null }[];
  usage?: unknown;
  [key: string]: unknown;
}
export interface ChatChunk {
  model?: string;
  choices: { index: number; delta: Record<string, unknown> & { content?: string | null }; finish_reason?: string | null }[];
  usage?: unknown;
  [key: string]: unknown;
}

/** A stage's per-request view of a streamed answer: it may hold back, rewrite or stop chunks. */
export interface ChunkHooks {
  /** Returns the chunks to send in place of this one; `stop` ends the stream after them (a cap reached). */
  onChunk(chunk: ChatChunk): { chunks: ChatChunk[]; stop?: boolean };
  /** At the end of the stream: anything still held back. */
  flush(): ChatChunk[];
}

/** An answer given by a stage instead of calling the provider (a block, a cache hit, a limit). */
export interface EarlyAnswer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** What a plugin does in the relay. All hooks are optional; llm-proxy is the one that answers. */
export interface RelayStage {
  plugin: PluginName;
  /**
   * llm-proxy only, right after the body is parsed and before any stage's onRequest: turns a request in another
   * API's format (Anthropic Messages) into the OpenAI shape every stage reads, keeping the original in ex.inbound.
   */
  normalizeRequest?(ex: Exchange): void;
  onRequest?(ex: Exchange): Promise<EarlyAnswer | void>;
  /** Calls the provider and writes the answer (llm-proxy only). */
  respond?(ex: Exchange, res: ServerResponse): Promise<void>;
  /**
   * Just before the answer's headers go out (reverse priority order): for a non-streamed answer usage and model are
   * known, so a stage can add headers (ex.responseHeaders) without touching the body.
   */
  beforeAnswer?(ex: Exchange): void;
  /** Rewrites a non-streamed chat completion before the client gets it (reverse priority order). */
  transformCompletion?(ex: Exchange, completion: ChatCompletion): void;
  /** Per-request hooks on a streamed chat completion (reverse priority order); undefined = not interested. */
  chunkHooks?(ex: Exchange): ChunkHooks | undefined;
  /** After the answer is complete or failed, in reverse priority order. */
  onComplete?(ex: Exchange): Promise<void> | void;
}
