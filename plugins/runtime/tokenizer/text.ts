import type { GptEncoding } from 'gpt-tokenizer/cjs/GptEncoding';
import { familyOf, type Approximation, type ExactEncoding } from './families';

/** Special-token strings in user text are ordinary text, as the providers' APIs treat them. */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

const encodings = new Map<ExactEncoding, GptEncoding>();

/** Each encoding's rank table is large (o200k ≈ 200k entries): loaded on first use only. */
function encodingFor(name: ExactEncoding): GptEncoding {
  let encoding = encodings.get(name);
  if (!encoding) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    encoding = (require(`gpt-tokenizer/cjs/encoding/${name}`) as { default: GptEncoding }).default;
    encodings.set(name, encoding);
  }
  return encoding;
}

/**
 * BPE merging is quadratic in the length of one pre-token, and a run of letters with no space is one pre-token:
 * a 500 KB "word" would block the event loop for minutes. Runs longer than this are counted in pieces of this size
 * (the count moves by at most a token per piece, for such text only).
 */
const LONG_RUN = 256;
const LONG_RUN_PATTERN = new RegExp(`\\S{${LONG_RUN},}`, 'g');

export function countWithEncoding(text: string, encoding: ExactEncoding): number {
  if (!text) return 0;
  const enc = encodingFor(encoding);
  LONG_RUN_PATTERN.lastIndex = 0;
  if (!LONG_RUN_PATTERN.test(text)) return enc.countTokens(text, PLAIN_TEXT);
  let tokens = 0;
  let from = 0;
  LONG_RUN_PATTERN.lastIndex = 0;
  for (const match of text.matchAll(LONG_RUN_PATTERN)) {
    if (match.index > from) tokens += enc.countTokens(text.slice(from, match.index), PLAIN_TEXT);
    for (let i = 0; i < match[0].length; i += LONG_RUN) tokens += enc.countTokens(match[0].slice(i, i + LONG_RUN), PLAIN_TEXT);
    from = match.index + match[0].length;
  }
  if (from < text.length) tokens += enc.countTokens(text.slice(from), PLAIN_TEXT);
  return tokens;
}

const NON_ASCII = /[^\x00-\x7f]/gu;
const DIGIT = /\d/g;

export function approximateCount(text: string, a: Approximation): number {
  if (!text) return 0;
  const nonAscii = a.perNonAsciiChar ? (text.match(NON_ASCII)?.length ?? 0) : 0;
  const digits = a.perDigit ? (text.match(DIGIT)?.length ?? 0) : 0;
  return Math.ceil(a.perO200kToken * countWithEncoding(text, 'o200k_base') + a.perNonAsciiChar * nonAscii + a.perDigit * digits);
}

/** Tokens of a piece of text for `model`: exact for OpenAI models, the family's approximation otherwise. */
export function countTextTokens(text: string, model: string): number {
  const info = familyOf(model);
  return info.encoding ? countWithEncoding(text, info.encoding) : approximateCount(text, info.approximation!);
}
