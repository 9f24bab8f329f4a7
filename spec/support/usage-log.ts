import { existsSync, readFileSync } from 'node:fs';

/**
 * Reads the usage events a plugin server wrote to its LLM_USAGE_LOG file (one JSON object a line). `last()` first
 * lets the server finish writing the event of the request that just completed.
 */
export function usageLog(file: string) {
  const all = (): Record<string, any>[] =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line))
      : [];
  return {
    all,
    async last(): Promise<Record<string, any>> {
      await new Promise((r) => setTimeout(r, 50));
      return all().at(-1) ?? {};
    },
  };
}
