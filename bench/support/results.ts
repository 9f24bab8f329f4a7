import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** bench/results/ of the project (this module runs from dist/bench/support/). */
export function resultsDir(): string {
  return join(__dirname, '..', '..', '..', 'bench', 'results');
}

/** Every JSON result file in the directory, by name without `.json` (the summary itself excluded). */
export function readResults(dir: string): Record<string, unknown> {
  if (!existsSync(dir)) return {};
  const names = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'summary.json').sort();
  return Object.fromEntries(names.map((f) => [f.slice(0, -'.json'.length), JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown]));
}
