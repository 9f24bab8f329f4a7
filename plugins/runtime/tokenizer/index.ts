/**
 * The suite's tokenizer (shared by llm-token-limit and llm-cost-attribution): exact counts for OpenAI models,
 * a measured approximation for other families. Synchronous and CPU-bound: ≈ µs per KB (see docs/llm-token-limit.md).
 */
export { countTextTokens } from './text';
export { estimatePromptTokens, expectedCompletionTokens, IMAGE_TOKENS, IMAGE_LOW_DETAIL_TOKENS, AUDIO_OR_FILE_PART_TOKENS } from './chat';
export type { PromptEstimate } from './chat';
export { familyOf, APPROXIMATIONS } from './families';
export type { TokenizerFamily, FamilyInfo, Approximation } from './families';
