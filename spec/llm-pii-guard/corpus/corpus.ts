import { DOCUMENTS } from './documents';
import { POOLS, SECRET_MAKERS } from './values';

export interface LabelledEntity {
  type: string;
  value: string;
}
export interface LabelledSample {
  text: string;
  entities: LabelledEntity[];
}

/** Every document three times over, each time with the next values of the pools. */
export function buildCorpus(rounds = 3): LabelledSample[] {
  const cursors: Record<string, number> = {};
  const next = (type: string) => {
    const pool = POOLS[type];
    if (!pool) throw new Error(`no pool for ${type}`);
    const i = cursors[type] ?? 0;
    cursors[type] = i + 1;
    return pool[i % pool.length];
  };
  const samples: LabelledSample[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const doc of DOCUMENTS) {
      const entities: LabelledEntity[] = [];
      const text = doc.replace(/\{\{([a-z_]+)(?::([a-z_]+))?\}\}/g, (_m, type: string, kind?: string) => {
        const value = type === 'secret' ? SECRET_MAKERS[kind ?? '']() : next(type);
        entities.push({ type, value });
        return value;
      });
      samples.push({ text, entities });
    }
  }
  return samples;
}

/** The config the corpus figures are measured with: every detector on, four regions' national formats. */
export const CORPUS_CONFIG = { detectors: { phone: { default_regions: ['US', 'GB', 'DE', 'FR'] } } };
