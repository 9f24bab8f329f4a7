import { evaluateCorpus } from './corpus-eval';

/**
 * The acceptance figures on the labelled corpus (spec/llm-pii-guard/corpus): recall ≥ 0.99 and precision ≥ 0.97
 * for every regex-detectable type. docs/llm-pii-guard.md records the per-type figures printed here.
 */
describe('labelled corpus', () => {
  const result = evaluateCorpus();

  it('has realistic size: every type labelled many times, in a few hundred prompts', () => {
    expect(result.samples).toBeGreaterThanOrEqual(150);
    for (const type of ['email', 'phone', 'credit_card', 'iban', 'us_ssn', 'ip_address', 'secret', 'crypto_wallet']) {
      expect(result.scores[type]?.tp ?? 0).toBeGreaterThanOrEqual(10);
    }
  });

  it.each(['email', 'phone', 'credit_card', 'iban', 'us_ssn', 'ip_address', 'secret', 'crypto_wallet'])('%s: recall ≥ 0.99, precision ≥ 0.97', (type) => {
    const s = result.scores[type];
    expect({ type, misses: result.misses.filter((m) => m.startsWith(`${type}:`)).length }).toEqual({ type, misses: s.fn });
    expect(s.recall).toBeGreaterThanOrEqual(0.99);
    expect(s.precision).toBeGreaterThanOrEqual(0.97);
  });

  afterAll(() => {
    const rows = Object.entries(result.scores).map(
      ([type, s]) => `| ${type} | ${s.tp + s.fn} | ${s.tp} | ${s.fp} | ${s.fn} | ${s.precision.toFixed(3)} | ${s.recall.toFixed(3)} |`,
    );
    if (process.env.PII_CORPUS_REPORT) {
      process.stdout.write(`samples=${result.samples} chars=${result.chars}\n| type | labelled | TP | FP | FN | precision | recall |\n${rows.join('\n')}\n`);
    }
  });
});
