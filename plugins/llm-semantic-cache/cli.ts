import { parseArgs } from 'node:util';
import { createEmbedder, EMBEDDER_KINDS, embedderConfigSchema, type EmbedderKind } from './embedders';
import { evaluatePairs, formatReport, loadPairs } from './eval';
import { PURGE_USAGE, runPurge } from './purge';
import { DEFAULT_THRESHOLDS, EMBED_WINDOW_CHARS } from './thresholds';

export interface CliIo {
  log: (line: string) => void;
  error: (line: string) => void;
}

export const CACHE_USAGE = `kong-llm cache eval FILE [options]   false-hit rate and recall of the semantic cache on labelled pairs (JSONL)
  --threshold 0.8,0.85,...          thresholds to score (default: 0.70 to 0.95 by 0.05 and the embedder's default)
  --embedder builtin|openai-compatible
  --embedder-url URL --embedder-model NAME [--embedder-auth-header authorization|api-key]
                                    the key is read from the environment variable EMBEDDER_API_KEY
  --no-guards                       score similarity alone, without the negation/number/entity guard
  --json                            print the full report as JSON
`;

/** `kong-llm cache <subcommand>`: eval (calibration) and purge (cache administration). */
export async function runCache(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'eval':
      return runEval(rest, io);
    case 'purge':
      return runPurge(rest, io);
    default:
      io.error(sub ? `unknown cache command ${sub}` : 'cache needs a command');
      io.error(CACHE_USAGE + PURGE_USAGE);
      return 2;
  }
}

async function runEval(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      threshold: { type: 'string' },
      embedder: { type: 'string', default: 'builtin' },
      'embedder-url': { type: 'string' },
      'embedder-model': { type: 'string' },
      'embedder-auth-header': { type: 'string' },
      'no-guards': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) {
    io.error('cache eval needs one pairs file (JSONL)');
    io.error(CACHE_USAGE);
    return 2;
  }
  const kind = values.embedder as EmbedderKind;
  if (!EMBEDDER_KINDS.includes(kind)) throw new Error(`--embedder must be one of ${EMBEDDER_KINDS.join(', ')}`);
  const thresholds = values.threshold ? parseThresholds(values.threshold) : defaultThresholds(kind);
  const pairs = loadPairs(positionals[0]);
  const config = embedderConfigSchema.parse({
    embedder: kind,
    embedder_url: values['embedder-url'],
    embedder_model: values['embedder-model'],
    embedder_auth_header: values['embedder-auth-header'],
    embedder_api_key: process.env.EMBEDDER_API_KEY || undefined,
    embedder_timeout_ms: 60_000,
  });
  const embedder = createEmbedder(config);
  try {
    const report = await evaluatePairs(pairs, embedder, { thresholds, guards: !values['no-guards'], windowChars: EMBED_WINDOW_CHARS[kind] });
    io.log(values.json ? JSON.stringify({ ...report, outcomes: undefined }, null, 2) : formatReport(report));
    return 0;
  } finally {
    await embedder.close();
  }
}

function parseThresholds(text: string): number[] {
  return text.split(',').map((s) => {
    const t = Number(s.trim());
    if (!(t > 0 && t <= 1)) throw new Error(`--threshold: ${s} is not a number in (0, 1]`);
    return t;
  });
}

function defaultThresholds(kind: EmbedderKind): number[] {
  const steps = [0.7, 0.75, 0.8, 0.85, 0.9, 0.95];
  return [...new Set([...steps, DEFAULT_THRESHOLDS[kind]])].sort((a, b) => a - b);
}
