import type { ServerResponse } from 'node:http';
import { completionToAnthropicMessage } from '../providers/anthropic/message';
import { anthropicFrame, OpenAiToAnthropicStream } from '../providers/anthropic/stream-from-openai';
import { completionToResponse } from '../providers/openai/responses/response';
import { ChatToResponsesStream } from '../providers/openai/responses/stream';
import { GatewayError, errorBody } from '../runtime/relay/errors';
import type { ChatChunk, ChatCompletion, Exchange, Usage } from '../runtime/relay/stage';

/** The API whose format the client's answer must have, whatever the provider: OpenAI chat, Anthropic or OpenAI Responses. */
export type ClientApi = 'openai' | 'anthropic' | 'openai-responses';

export function clientApi(ex: Exchange): ClientApi {
  if (ex.inbound?.api === 'anthropic-messages') return 'anthropic';
  return ex.inbound?.api === 'openai-responses' ? 'openai-responses' : 'openai';
}

/** A chat completion as the client's API answers it (an OpenAI chat client gets it as it is). */
export function completionForClient(ex: Exchange, completion: ChatCompletion, usage: Usage | undefined): unknown {
  switch (clientApi(ex)) {
    case 'anthropic':
      return completionToAnthropicMessage(completion, usage, ex.model ?? '');
    case 'openai-responses':
      return completionToResponse(completion, usage, ex.model ?? '', ex.inbound?.body ?? {});
    default:
      return completion;
  }
}

/**
 * The stream that writes OpenAI chat chunks in the client's API format (an OpenAI chat client also gets the
 * provider's raw frames through it). `promptEstimate` is asked only for Anthropic's message_start.
 */
export function chunkClientStream(ex: Exchange, write: (frame: string) => void, promptEstimate: () => number): ClientStream {
  switch (clientApi(ex)) {
    case 'anthropic':
      return anthropicTranslatedStream(ex, write, promptEstimate());
    case 'openai-responses':
      return responsesTranslatedStream(ex, write);
    default:
      return openAiClientStream(ex, write);
  }
}

/** Writes a streamed answer in the client's API format. */
export interface ClientStream {
  /** Frames from the provider that are already in the client's format (and no stage needs to see them). */
  raw(frame: string): void;
  chunk(chunk: ChatChunk): void;
  /** The answer is complete (the provider's end, or a stage stopped it). */
  done(): void;
  /** A failure after the headers went out: a well-formed error event, then the stream ends. */
  error(failure: GatewayError): void;
  /** The provider's own error event was forwarded in raw form: nothing more to say. */
  errorForwarded(): void;
}

export function openAiClientStream(ex: Exchange, write: (frame: string) => void): ClientStream {
  let ended = false;
  return {
    raw: write,
    chunk: (c) => write(`data: ${JSON.stringify(c)}\n\n`),
    done() {
      if (ended) return;
      ended = true;
      write('data: [DONE]\n\n');
    },
    error(failure) {
      if (ended) return;
      ended = true;
      write(`data: ${errorBody(ex.errorFormat, failure.status, failure.message, failure.code)}\n\n`);
    },
    errorForwarded: () => void (ended = true),
  };
}

const anthropicErrorType = (status: number): string => (JSON.parse(errorBody('anthropic', status, '', '')) as { error: { type: string } }).error.type;

/** Anthropic events translated from OpenAI chunks; `promptEstimate` fills message_start before the provider's usage. */
export function anthropicTranslatedStream(ex: Exchange, write: (frame: string) => void, promptEstimate: number): ClientStream {
  const estimate = { promptTokens: promptEstimate, completionTokens: 0, totalTokens: promptEstimate, estimated: true };
  const converter = new OpenAiToAnthropicStream(ex.model ?? '', () => ex.usage ?? estimate);
  const emit = (out: string) => void (out && write(out));
  return {
    raw: () => undefined, // never: OpenAI-shaped frames are parsed into chunks first
    chunk: (c) => emit(converter.chunk(c)),
    done: () => emit(converter.end(ex.usage)),
    error: (failure) => emit(converter.error(anthropicErrorType(failure.status), failure.message)),
    errorForwarded: () => void converter.error('api_error', ''),
  };
}

/** OpenAI Responses events translated from OpenAI chat chunks (a client of `/v1/responses`). */
export function responsesTranslatedStream(ex: Exchange, write: (frame: string) => void): ClientStream {
  const converter = new ChatToResponsesStream(ex.model ?? '', ex.inbound?.body ?? {});
  const emit = (out: string) => void (out && write(out));
  return {
    raw: () => undefined, // never: chat frames are parsed into chunks first
    chunk: (c) => emit(converter.chunk(c)),
    done: () => emit(converter.end(ex.usage)),
    error: (failure) => emit(converter.error(failure.status, failure.message)),
    errorForwarded: () => void converter.error(502, ''),
  };
}

/** The provider's own Anthropic events passed through (their message_stop ends the answer). */
export function anthropicRawStream(write: (frame: string) => void): ClientStream {
  let ended = false;
  return {
    raw: (frame) => void (!ended && write(frame)),
    chunk: () => undefined,
    done: () => void (ended = true),
    error(failure) {
      if (ended) return;
      ended = true;
      write(anthropicFrame('error', { error: { type: anthropicErrorType(failure.status), message: failure.message } }));
    },
    errorForwarded: () => void (ended = true),
  };
}
