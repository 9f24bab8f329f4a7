import { existsSync, readFileSync } from 'node:fs';

/**
 * Reads the usage events a plugin server wrote to its LLM_USAGE_LOG file (one JSON object a line). The server writes
 * a request's event just after the answer is complete, so `last()` first lets it finish: it waits until the file has
 * not grown for a moment (at most 2 s), which holds on a loaded machine too.
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
      const deadline = Date.now() + 2_000;
      let events = all();
      for (;;) {
        await new Promise((r) => setTimeout(r, 100));
        const now = all();
        if (now.length === events.length || Date.now() > deadline) return now.at(-1) ?? {};
        events = now;
      }
    },
  };
}
