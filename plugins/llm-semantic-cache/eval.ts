import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { semanticKeyText } from './conversation';
import type { Embedder } from './embedders';
import { dot } from './embedders/vector';
import { promptsAgree } from './guards';

/**
 * Labelled pairs for calibrating the semantic cache: would serving `b` the cached answer of `a` be right (`same`)?
 * A side is the user's text, or a conversation: optional system prompt and turns alternating user/assistant,
 * ending with the user's question (spec/llm-semantic-cache/pairs/README.md).
 */
const conversationSchema = z.union([
  z.string().min(1),
  z.object({ system: z.string().optional(), turns: z.array(z.string()).min(1) }).strict(),
]);
export const pairSchema = z
  .object({ a: conversationSchema, b: conversationSchema, same: z.boolean(), category: z.string().min(1).default('uncategorised') })
  .strict();
export type LabelledPair = z.infer<typeof pairSchema>;
export type PairConversation = z.infer<typeof conversationSchema>;

/** The OpenAI chat messages a pair side stands for. */
export function pairMessages(side: PairConversation): { role: string; content: string }[] {
  if (typeof side === 'string') return [{ role: 'user', content: side }];
  const turns = side.turns.map((content, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content }));
  return side.system === undefined ? turns : [{ role: 'system', content: side.system }, ...turns];
}

export function parsePairs(jsonl: string, source = 'pairs'): LabelledPair[] {
  return jsonl.split('\n').flatMap((line, i) => {
    if (!line.trim()) return [];
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new Error(`${source}:${i + 1}: not valid JSON`);
    }
    const parsed = pairSchema.safeParse(json);
    if (!parsed.success) throw new Error(`${source}:${i + 1}: ${parsed.error.issues.map((e) => `${e.path.join('.') || 'pair'}: ${e.message}`).join('; ')}`);
    return [parsed.data];
  });
}

export function loadPairs(file: string): LabelledPair[] {
  return parsePairs(readFileSync(file, 'utf8'), file);
}

export interface EvalOptions {
  thresholds: number[];
  guards: boolean;
  /** the embedder's window (EMBED_WINDOW_CHARS) */
  windowChars: number;
}

/** How one pair is seen by the cache: partitions, similarity and the guard's verdict. */
export interface PairOutcome {
  pair: LabelledPair;
  /** false: the partitions differ, the pair is never compared */
  samePartition: boolean;
  /** identical embedded text: the exact cache serves it whatever the threshold */
  exact: boolean;
  similarity: number;
  guard: { agree: boolean; reason?: string };
}

export interface Rates {
  pairs: number;
  truePairs: number;
  falsePairs: number;
  trueServed: number;
  falseServed: number;
  /** false pairs served / false pairs (NaN without false pairs) */
  falseHitRate: number;
  /** true pairs served / true pairs (NaN without true pairs) */
  recall: number;
}

export interface ThresholdReport extends Rates {
  threshold: number;
  categories: ({ category: string } & Rates)[];
}

export interface EvalReport {
  embedder: string;
  guards: boolean;
  outcomes: PairOutcome[];
  thresholds: ThresholdReport[];
}

const EMBED_BATCH = 64;

/** Embeds each distinct text once (batched), then scores every threshold without embedding again. */
export async function evaluatePairs(pairs: LabelledPair[], embedder: Embedder, options: EvalOptions): Promise<EvalReport> {
  const keys = pairs.map((p) => [p.a, p.b].map((side) => semanticKeyText(pairMessages(side), options.windowChars)));
  const texts = [...new Set(keys.flat().flatMap((k) => (k ? [k.embedText] : [])))];
  const vectors = new Map<string, Float32Array>();
  for (let i = 0; i < texts.length; i += EMBED_BATCH) {
    const batch = texts.slice(i, i + EMBED_BATCH);
    (await embedder.embed(batch)).forEach((v, j) => vectors.set(batch[j], v));
  }
  const outcomes = pairs.map((pair, i): PairOutcome => {
    const [ka, kb] = keys[i];
    const samePartition = !!ka && !!kb && ka.partitionText === kb.partitionText;
    if (!ka || !kb) return { pair, samePartition, exact: false, similarity: 0, guard: { agree: false, reason: 'no user text' } };
    const exact = ka.embedText === kb.embedText;
    return {
      pair,
      samePartition,
      exact,
      similarity: exact ? 1 : dot(vectors.get(ka.embedText)!, vectors.get(kb.embedText)!),
      guard: exact ? { agree: true } : promptsAgree(ka.embedText, kb.embedText),
    };
  });
  const categories = [...new Set(pairs.map((p) => p.category))];
  return {
    embedder: embedder.id,
    guards: options.guards,
    outcomes,
    thresholds: options.thresholds.map((threshold) => {
      const served = (o: PairOutcome) => isServed(o, threshold, options.guards);
      return {
        threshold,
        ...rates(outcomes, served),
        categories: categories.map((category) => ({ category, ...rates(outcomes.filter((o) => o.pair.category === category), served) })),
      };
    }),
  };
}

/** The cache's decision for a pair: same partition, then exact text, or similar enough and (with guards) agreeing. */
export function isServed(o: PairOutcome, threshold: number, guards: boolean): boolean {
  if (!o.samePartition) return false;
  if (o.exact) return true;
  return o.similarity >= threshold && (!guards || o.guard.agree);
}

function rates(outcomes: PairOutcome[], served: (o: PairOutcome) => boolean): Rates {
  const truePairs = outcomes.filter((o) => o.pair.same);
  const falsePairs = outcomes.filter((o) => !o.pair.same);
  const trueServed = truePairs.filter(served).length;
  const falseServed = falsePairs.filter(served).length;
  return {
    pairs: outcomes.length,
    truePairs: truePairs.length,
    falsePairs: falsePairs.length,
    trueServed,
    falseServed,
    falseHitRate: falseServed / falsePairs.length,
    recall: trueServed / truePairs.length,
  };
}

const pct = (x: number) => (Number.isNaN(x) ? '—' : `${(x * 100).toFixed(1)}%`);

/** Overall figures per threshold, then per category (false-hit rate for false pairs, recall for true pairs). */
export function formatReport(report: EvalReport): string {
  const lines = [`embedder ${report.embedder}, guards ${report.guards ? 'on' : 'off'}, ${report.outcomes.length} pairs`, ''];
  lines.push(row(['threshold', 'false-hit rate', 'false served', 'recall', 'true served']));
  for (const t of report.thresholds) {
    lines.push(row([t.threshold.toFixed(2), pct(t.falseHitRate), `${t.falseServed}/${t.falsePairs}`, pct(t.recall), `${t.trueServed}/${t.truePairs}`]));
  }
  lines.push('', 'per category (false pairs: false-hit rate; true pairs: recall)');
  lines.push(row(['category', 'pairs', ...report.thresholds.map((t) => t.threshold.toFixed(2))]));
  for (const { category } of report.thresholds[0]?.categories ?? []) {
    const cells = report.thresholds.map((t) => {
      const c = t.categories.find((x) => x.category === category)!;
      return [c.falsePairs ? `FHR ${pct(c.falseHitRate)}` : '', c.truePairs ? `R ${pct(c.recall)}` : ''].filter(Boolean).join(' ');
    });
    lines.push(row([category, String(report.thresholds[0].categories.find((x) => x.category === category)!.pairs), ...cells]));
  }
  return lines.join('\n');
}

function row(cells: string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(24) : c.padStart(15))).join(' ');
}
