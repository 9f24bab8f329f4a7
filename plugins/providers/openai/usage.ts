import type { Usage } from '../../runtime/relay/stage';

interface OpenAiUsage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  total_tokens?: unknown;
  prompt_tokens_details?: { cached_tokens?: unknown } | null;
  completion_tokens_details?: { reasoning_tokens?: unknown } | null;
}

const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined);

/** Reads OpenAI's usage object (chat, embeddings, streamed final chunk). */
export function openAiUsage(raw: unknown): Usage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const u = raw as OpenAiUsage;
  const prompt = int(u.prompt_tokens);
  if (prompt === undefined) return undefined;
  const completion = int(u.completion_tokens) ?? 0;
  return {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: int(u.total_tokens) ?? prompt + completion,
    cachedTokens: int(u.prompt_tokens_details?.cached_tokens),
    reasoningTokens: int(u.completion_tokens_details?.reasoning_tokens),
    estimated: false,
  };
}
