/**
 * The deterministic content every mock provider answers with, so that tests can compute what to expect.
 *
 * - Answer: `[<label> upstream] ` (only with a label) + the configured reply, or `Echo: <text of the last user
 *   message>`; whitespace is normalised to single spaces. With a token limit below the answer's word count the
 *   answer is cut to that many words and the stop reason is `length` (each provider names it its own way).
 * - Tokens are words: runs of non-whitespace characters.
 * - Embeddings: an L2-normalised bag of words of `dimensions` floats: each lower-cased word (`[a-z0-9]+`) adds ±1 at a
 *   position given by its FNV-1a hash, so equal texts get equal vectors and texts sharing words get similar ones.
 *   Values are float32-exact, so float and binary/base64 encodings decode to the same numbers.
 */

export function splitWords(text: string): string[] {
  return text.split(/\s+/).filter((word) => word.length > 0);
}

export function countWords(text: string): number {
  return splitWords(text).length;
}

export interface AnswerSpec {
  /** Text of the last user message (used when there is no configured reply). */
  lastUserText: string;
  reply?: string;
  label?: string;
  /** The request's output token limit, if any. */
  maxTokens?: number | null;
}

export function deterministicAnswer(spec: AnswerSpec): { words: string[]; stopReason: 'stop' | 'length' } {
  const text = spec.reply ?? `Echo: ${spec.lastUserText}`;
  const words = splitWords(`${spec.label ? `[${spec.label} upstream] ` : ''}${text}`);
  if (spec.maxTokens != null && spec.maxTokens < words.length) return { words: words.slice(0, spec.maxTokens), stopReason: 'length' };
  return { words, stopReason: 'stop' };
}

/** The words an embedding is built from: lower-cased `[a-z0-9]+` runs of a text. */
export function embeddingWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

export function bagOfWordsVector(words: string[], dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const word of words) {
    const hash = fnv1a(word);
    vector[hash % dimensions] += hash & 0x8000_0000 ? -1 : 1;
  }
  const norm = Math.hypot(...vector);
  if (norm === 0) vector[0] = 1;
  return vector.map((v) => Math.fround(norm === 0 ? v : v / norm));
}

/** The little-endian float32 bytes of a vector, base64-encoded (OpenAI's and Cohere's `base64` encodings). */
export function float32Base64(vector: number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes.toString('base64');
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x0100_0193) >>> 0;
  }
  return hash;
}
