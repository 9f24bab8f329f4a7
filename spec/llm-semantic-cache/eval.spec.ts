import { join } from 'node:path';
import { runCache } from '../../plugins/llm-semantic-cache/cli';
import { semanticKeyText } from '../../plugins/llm-semantic-cache/conversation';
import { BuiltinEmbedder } from '../../plugins/llm-semantic-cache/embedders/builtin';
import { evaluatePairs, isServed, loadPairs, pairMessages, parsePairs, type EvalReport } from '../../plugins/llm-semantic-cache/eval';
import { DEFAULT_THRESHOLDS, EMBED_WINDOW_CHARS } from '../../plugins/llm-semantic-cache/thresholds';

const PAIRS = join(__dirname, 'pairs', 'pairs.jsonl');

describe('the labelled pair set', () => {
  const pairs = loadPairs(PAIRS);

  it('has at least 300 pairs, 120 of them true, in every required category', () => {
    expect(pairs.length).toBeGreaterThanOrEqual(300);
    expect(pairs.filter((p) => p.same).length).toBeGreaterThanOrEqual(120);
    const categories = new Set(pairs.map((p) => p.category));
    for (const c of ['paraphrase', 'near-duplicate', 'reordered', 'negation', 'antonym', 'number-swap', 'date-swap', 'entity-swap', 'format-change', 'system-prompt', 'multi-turn']) {
      expect(categories).toContain(c);
    }
  });
});

describe('semantic cache at default settings with the builtin embedder', () => {
  const embedder = new BuiltinEmbedder(60_000);
  const threshold = DEFAULT_THRESHOLDS.builtin;
  let withGuards: EvalReport;

  beforeAll(async () => {
    const pairs = loadPairs(PAIRS);
    withGuards = await evaluatePairs(pairs, embedder, { thresholds: [threshold], windowChars: EMBED_WINDOW_CHARS.builtin, guards: true });
  }, 120_000);

  afterAll(() => embedder.close());

  it('serves at most 1% of the pairs that should miss, and at least half of the true repeats', () => {
    const [t] = withGuards.thresholds;
    expect(t.falsePairs).toBeGreaterThanOrEqual(150);
    expect(t.falseHitRate).toBeLessThanOrEqual(0.01);
    expect(t.recall).toBeGreaterThanOrEqual(0.5);
  });

  it('needs the guard: similarity alone serves many wrong answers at the same threshold', () => {
    const falsePairs = withGuards.outcomes.filter((o) => !o.pair.same);
    const servedBySimilarity = falsePairs.filter((o) => isServed(o, threshold, false));
    expect(servedBySimilarity.length / falsePairs.length).toBeGreaterThan(0.2);
  });

  it('never compares pairs whose system prompt or earlier turns differ', () => {
    const partitioned = withGuards.outcomes.filter((o) => ['system-prompt', 'multi-turn'].includes(o.pair.category));
    expect(partitioned.length).toBeGreaterThan(0);
    for (const o of partitioned) {
      expect(o.samePartition).toBe(false);
      expect(o.exact).toBe(true); // the same last question: only the partition keeps them apart
    }
  });

  it('prints the table from the CLI', async () => {
    const out: string[] = [];
    const code = await runCache(['eval', join(__dirname, 'pairs', 'example.jsonl'), '--threshold', '0.8,0.9'], { log: (s) => out.push(s), error: (s) => out.push(s) });
    expect(code).toBe(0);
    const text = out.join('\n');
    expect(text).toContain('guards on, 2 pairs');
    expect(text).toMatch(/0\.80\s+0\.0%\s+0\/1\s+100\.0%\s+1\/1/);
    expect(text).toMatch(/antonym\s+1\s+FHR 0\.0%\s+FHR 0\.0%/);
  });
});

describe('parsePairs', () => {
  it('accepts strings and conversations', () => {
    const [pair] = parsePairs('{"a":{"system":"Be brief.","turns":["Hi","Hello!","Reset my PIN"]},"b":"Reset my PIN","same":false}');
    expect(pair.category).toBe('uncategorised');
    expect(pairMessages(pair.a)).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Reset my PIN' },
    ]);
  });

  it('names the line of a bad pair', () => {
    expect(() => parsePairs('{"a":"x","b":"y","same":true}\n\n{"a":"x","same":true}', 'my.jsonl')).toThrow('my.jsonl:3: b:');
    expect(() => parsePairs('{"a":', 'my.jsonl')).toThrow('my.jsonl:1: not valid JSON');
  });
});

describe('semanticKeyText', () => {
  const user = (content: unknown) => ({ role: 'user', content });

  it('embeds the trailing user turns and partitions by everything before them', () => {
    const a = semanticKeyText([{ role: 'system', content: 'Bank A' }, user('Hi'), { role: 'assistant', content: 'Hello' }, user('Reset  my\nPIN'), user('please')], 320)!;
    expect(a.embedText).toBe('Reset my PIN please');
    const b = semanticKeyText([{ role: 'system', content: 'Bank B' }, user('Hi'), { role: 'assistant', content: 'Hello' }, user('Reset my PIN please')], 320)!;
    expect(b.embedText).toBe(a.embedText);
    expect(b.partitionText).not.toBe(a.partitionText);
  });

  it('keeps text beyond the window and non-text parts out of the vector, in the partition', () => {
    const long = `${'word '.repeat(80)}tail-a`;
    const k1 = semanticKeyText([user(long)], 100)!;
    const k2 = semanticKeyText([user(`${'word '.repeat(80)}tail-b`)], 100)!;
    expect(k1.embedText.length).toBeLessThanOrEqual(100);
    expect(k1.embedText).toBe(k2.embedText);
    expect(k1.partitionText).not.toBe(k2.partitionText);

    const withImage = (url: string) => semanticKeyText([user([{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url } }])], 320)!;
    expect(withImage('https://x/1.png').embedText).toBe('What is this?');
    expect(withImage('https://x/1.png').partitionText).not.toBe(withImage('https://x/2.png').partitionText);
  });

  it('has nothing to embed when the conversation does not end with user text', () => {
    expect(semanticKeyText([user('Weather?'), { role: 'assistant', tool_calls: [] }], 320)).toBeUndefined();
    expect(semanticKeyText([user('  ')], 320)).toBeUndefined();
    expect(semanticKeyText([], 320)).toBeUndefined();
  });
});
