import type { EmbedderKind } from './embedders';

/**
 * Calibration per embedder. `builtin` was calibrated with `kong-llm cache eval` on spec/llm-semantic-cache/pairs
 * (guards on): no false hit from 0.70 up. Pairs written after the guard, scored before it changed, slipped through
 * it more often at lower thresholds (0.85: 2–6% false hits; 0.90: 0–3%) while recall stays above 80% at 0.90:
 * 0.90 leaves the guard a margin on unseen traffic. Remote models spread their cosines differently and we cannot
 * know which one an endpoint serves: `openai-compatible` gets a strict value to start from; operators calibrate it
 * on their own traffic with the eval command.
 */
export const DEFAULT_THRESHOLDS: Record<EmbedderKind, number> = {
  builtin: 0.9,
  'openai-compatible': 0.92,
};

/** Characters of the trailing user text the embedder reads; the rest is matched exactly (conversation.ts). */
export const EMBED_WINDOW_CHARS: Record<EmbedderKind, number> = {
  // USE-lite reads ~128 sentencepiece tokens: ~4.5 characters each in English prose, fewer in code and numbers
  builtin: 320,
  'openai-compatible': 2_000,
};
