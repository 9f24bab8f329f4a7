/**
 * The client-facing APIs the relay understands, recognised by the end of the client's path so that any Kong
 * route prefix works (`/openai/v1/chat/completions`, `/v1/chat/completions`, ...).
 */
export type InboundApi =
  | 'openai-chat'
  | 'openai-responses'
  | 'openai-embeddings'
  | 'openai-models'
  | 'anthropic-messages'
  | 'anthropic-count-tokens'
  | 'unknown';

/** The error envelope family a client's SDK parses. */
export type ErrorFormat = 'openai' | 'anthropic';

const SUFFIXES: [string, InboundApi][] = [
  ['/messages/count_tokens', 'anthropic-count-tokens'],
  ['/messages', 'anthropic-messages'],
  ['/chat/completions', 'openai-chat'],
  ['/responses', 'openai-responses'],
  ['/embeddings', 'openai-embeddings'],
  ['/models', 'openai-models'],
];

export function detectApi(path: string): InboundApi {
  const clean = path.replace(/\/+$/, '');
  for (const [suffix, api] of SUFFIXES) if (clean.endsWith(suffix)) return api;
  return 'unknown';
}

export function errorFormatFor(api: InboundApi): ErrorFormat {
  return api.startsWith('anthropic') ? 'anthropic' : 'openai';
}
