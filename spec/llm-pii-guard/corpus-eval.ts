import { piiGuardSchema } from '../../plugins/llm-pii-guard/schema';
import { Scanner } from '../../plugins/llm-pii-guard/scanner';
import { buildCorpus, CORPUS_CONFIG } from './corpus/corpus';

export interface TypeScore {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
}

/** Precision and recall per entity type: a finding counts when its type and exact text match a label. */
export function evaluateCorpus(): { scores: Record<string, TypeScore>; samples: number; chars: number; misses: string[]; falseAlarms: string[] } {
  const scanner = new Scanner(piiGuardSchema.parse(CORPUS_CONFIG));
  const corpus = buildCorpus();
  const counts: Record<string, { tp: number; fp: number; fn: number }> = {};
  const misses: string[] = [];
  const falseAlarms: string[] = [];
  const c = (type: string) => (counts[type] ??= { tp: 0, fp: 0, fn: 0 });
  let chars = 0;
  for (const sample of corpus) {
    chars += sample.text.length;
    const expected = sample.entities.map((e) => `${e.type}\u0000${e.value}`);
    const found = scanner.scan(sample.text).findings.map((f) => `${f.type}\u0000${f.value}`);
    const remaining = [...expected];
    for (const f of found) {
      const i = remaining.indexOf(f);
      const type = f.split('\u0000')[0];
      if (i >= 0) {
        remaining.splice(i, 1);
        c(type).tp++;
      } else {
        c(type).fp++;
        falseAlarms.push(f.replace('\u0000', ': '));
      }
    }
    for (const r of remaining) {
      c(r.split('\u0000')[0]).fn++;
      misses.push(r.replace('\u0000', ': '));
    }
  }
  const scores: Record<string, TypeScore> = {};
  for (const [type, { tp, fp, fn }] of Object.entries(counts)) {
    scores[type] = { tp, fp, fn, precision: tp + fp === 0 ? 1 : tp / (tp + fp), recall: tp + fn === 0 ? 1 : tp / (tp + fn) };
  }
  return { scores, samples: corpus.length, chars, misses, falseAlarms };
}
