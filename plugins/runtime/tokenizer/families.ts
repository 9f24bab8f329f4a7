import { modelToEncodingMap } from 'gpt-tokenizer/cjs/mapping';

/**
 * Which tokenizer counts a model's tokens. OpenAI models are counted exactly with their own BPE encoding
 * (gpt-tokenizer's model→encoding table, then name rules for models newer than the table). Other families have no
 * tokenizer we can ship for their current models: they are approximated from the o200k count with coefficients
 * fitted on the prompt test set (spec/runtime/tokenizer/fixtures/prompts.ts) against each family's published
 * tokenizer — see docs/llm-token-limit.md for the measured error.
 */
export type TokenizerFamily = 'openai' | 'anthropic' | 'gemini' | 'mistral' | 'other';
export type ExactEncoding = 'o200k_base' | 'cl100k_base';

/** estimate = ceil(perO200kToken × o200k tokens + perNonAsciiChar × non-ASCII chars + perDigit × digits) */
export interface Approximation {
  perO200kToken: number;
  perNonAsciiChar: number;
  perDigit: number;
}

export interface FamilyInfo {
  family: TokenizerFamily;
  /** Set for OpenAI models: their exact encoding. */
  encoding?: ExactEncoding;
  approximation?: Approximation;
}

export const APPROXIMATIONS: Record<Exclude<TokenizerFamily, 'openai'>, Approximation> = {
  anthropic: { perO200kToken: 1.11, perNonAsciiChar: 0.24, perDigit: 0 },
  gemini: { perO200kToken: 0.93, perNonAsciiChar: 0, perDigit: 0.95 },
  mistral: { perO200kToken: 1.26, perNonAsciiChar: 0.3, perDigit: 0 },
  // Llama 2, Qwen, DeepSeek and unknown names: Mistral's coefficients (32k SentencePiece vocabularies behave
  // alike), the most generous of the three fitted ones. Not measured against their own tokenizers.
  other: { perO200kToken: 1.26, perNonAsciiChar: 0.3, perDigit: 0 },
};

const FAMILY_PATTERNS: [RegExp, Exclude<TokenizerFamily, 'openai' | 'other'>][] = [
  [/claude/, 'anthropic'],
  [/gemini|gemma/, 'gemini'],
  [/mistral|mixtral|codestral|ministral|magistral|pixtral|devstral/, 'mistral'],
];

const OPENAI_NAME = /^(gpt-|o\d|chatgpt-|text-embedding-|omni-moderation|codex-|computer-use-)/;
const CL100K_NAME = /^(gpt-4(?!o|\.\d)|gpt-3\.5|text-embedding-(ada|3))/;

const cache = new Map<string, FamilyInfo>();
const MAX_CACHED_MODELS = 1_000;

/** The family of a model name, as clients or llm-proxy write it ("gpt-4o", "openai/gpt-4o", "claude-sonnet-4-5"). */
export function familyOf(model: string): FamilyInfo {
  let info = cache.get(model);
  if (!info) {
    info = resolveFamily(model);
    if (cache.size >= MAX_CACHED_MODELS) cache.clear();
    cache.set(model, info);
  }
  return info;
}

function resolveFamily(model: string): FamilyInfo {
  const name = model.toLowerCase().split('/').pop()!.replace(/^ft:/, '');
  const known = (modelToEncodingMap as Record<string, string | undefined>)[name];
  if (known === 'cl100k_base') return { family: 'openai', encoding: 'cl100k_base' };
  if (known === 'o200k_base' || known === 'o200k_harmony') return { family: 'openai', encoding: 'o200k_base' };
  if (OPENAI_NAME.test(name)) return { family: 'openai', encoding: CL100K_NAME.test(name) ? 'cl100k_base' : 'o200k_base' };
  for (const [pattern, family] of FAMILY_PATTERNS) if (pattern.test(name)) return { family, approximation: APPROXIMATIONS[family] };
  return { family: 'other', approximation: APPROXIMATIONS.other };
}
