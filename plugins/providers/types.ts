import type { ChatChunk, ChatCompletion, InboundRequest, Usage } from '../runtime/relay/stage';
import type { ProviderOptions } from './options';

/** Where and how to call one provider, resolved from llm-proxy's configuration. */
export interface ProviderTarget {
  provider: string;
  baseUrl: string;
  apiKey: string | undefined;
  /** Model to send instead of the client's, if configured. */
  model: string | undefined;
  /** The provider API's version header, where it has one (Anthropic's anthropic-version). */
  apiVersion?: string;
  timeouts: { connectMs: number; firstByteMs: number; idleMs: number };
  /** Provider-specific settings (Azure deployment and api-version, AWS region and keys, Vertex project). */
  options: ProviderOptions;
}

/** An HTTP request to a provider. */
export interface UpstreamRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** What a streamed event turns into on its way to the client. */
export interface StreamEventResult {
  /**
   * The event text to send the client as it is (full `data: …\n\n` frame, in the format the filter's provider
   * speaks), or null to drop it. Filters that translate return `chunks` instead.
   */
  forward?: string | null;
  /** OpenAI chat chunks translated from the provider's event (a translating filter). */
  chunks?: ChatChunk[];
  /** The provider's stream is complete (the `[DONE]` of a translated stream). */
  done?: boolean;
  /** The provider reported an error inside the stream. */
  error?: { status: number; message: string };
  /** Usage so far: it replaces what was read before (providers report cumulative figures). */
  usage?: Usage;
  model?: string;
}

/**
 * Splits a provider's streamed body into events. The default reads Server-Sent Events; a provider with a binary
 * stream (Bedrock's AWS eventstream) supplies its own and hands each event's JSON as `data`.
 */
export interface StreamDecoder {
  feed(bytes: Uint8Array, onEvent: (data: string, event: string | undefined) => void): void;
  /** End of the body: anything still buffered. */
  end(onEvent: (data: string, event: string | undefined) => void): void;
}

/** Per-stream state that filters and reads the provider's SSE events. */
export interface StreamFilter {
  onEvent(data: string, event: string | undefined): StreamEventResult;
}

/** A request in the provider's own API, sent as the client wrote it (pass-through), with how to read its answer. */
export interface NativeCall {
  request: UpstreamRequest;
  /** For a stream: forwards the provider's events untouched while reading usage. */
  filter?: StreamFilter;
  /** Same stream, translated to OpenAI chunks, for when a stage must see the chunks. */
  translatingFilter?: () => StreamFilter;
  /** The JSON answer as an OpenAI completion, and back with a stage's edits applied. */
  toCompletion(json: unknown): ChatCompletion | undefined;
  applyCompletion(json: unknown, completion: ChatCompletion): unknown;
}

/**
 * One provider behind one interface: builds its requests from the suite's OpenAI-shaped request and reads its
 * answers back into OpenAI's shape (`completionFromBody`; stream filters that return `chunks`). A provider whose API
 * is also an inbound API (Anthropic) can take the client's own request unchanged (`nativeRequest`).
 */
export interface ProviderAdapter {
  id: string;
  defaultBaseUrl?: string;
  /** false when the provider authenticates otherwise than with auth.api_key (Bedrock: AWS keys) or needs none. */
  needsApiKey?: boolean;
  /** How this provider's stream is framed; absent = Server-Sent Events. */
  streamDecoder?(): StreamDecoder;
  chatRequest(body: Record<string, unknown>, target: ProviderTarget): { request: UpstreamRequest; filter?: StreamFilter };
  embeddingsRequest(body: Record<string, unknown>, target: ProviderTarget): UpstreamRequest;
  modelsRequest(target: ProviderTarget): UpstreamRequest;
  usageFromBody(json: unknown): Usage | undefined;
  /** The provider's error message in a parsed error body, if it has one. */
  errorMessage(json: unknown): string | undefined;
  /** A provider error code the client should see instead of the generic one (Azure's `content_filter`). */
  errorCode?(json: unknown): string | undefined;
  /** The provider's JSON embeddings answer as OpenAI's embeddings list for the client's `request`; absent = it already is one. */
  embeddingsFromBody?(json: unknown, request: Record<string, unknown>, model: string): unknown;
  /** The provider's JSON model list as OpenAI's model list; absent = it already is one. */
  modelsFromBody?(json: unknown): unknown;
  /** The provider's JSON chat answer as an OpenAI chat completion (`model`: the request's, for answers without one); absent = it already is one. */
  completionFromBody?(json: unknown, model: string): ChatCompletion | undefined;
  /**
   * The client's request in this provider's own API (`inbound.api`), with the stages' edits of the OpenAI-shaped
   * `body` applied back; undefined when this provider does not speak that API.
   */
  nativeRequest?(inbound: InboundRequest, body: Record<string, unknown>, target: ProviderTarget, clientHeaders: Record<string, string | string[] | undefined>, query: string): NativeCall | undefined;
}
