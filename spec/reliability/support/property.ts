import fc from 'fast-check';

/**
 * Fixed by default so that CI is reproducible; FUZZ_SEED=random explores new cases, FUZZ_SEED=<n> replays a report.
 */
const seed = process.env.FUZZ_SEED === 'random' ? undefined : Number(process.env.FUZZ_SEED ?? 20261123);
/** scripts/reliability multiplies the number of cases (FUZZ_RUNS_FACTOR=5). */
const runsFactor = Math.max(1, Number(process.env.FUZZ_RUNS_FACTOR) || 1);

/**
 * fc.assert with a bounded number of runs and a failure report cut short: generated bodies can be megabytes,
 * and the seed and path in the report replay the exact case anyway.
 */
export async function assertProperty<T>(property: fc.IAsyncPropertyWithHooks<T>, numRuns: number): Promise<void> {
  await fc.assert(property, {
    numRuns: numRuns * runsFactor,
    seed,
    endOnFailure: true,
    asyncReporter: async (details) => {
      if (!details.failed) return;
      const example = fc.stringify(details.counterexample);
      throw new Error(
        `property failed after ${details.numRuns} runs (seed ${details.seed}, path "${details.counterexamplePath}"): ` +
          `${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}\n` +
          `counterexample: ${example.length > 600 ? `${example.slice(0, 600)}… (${example.length} chars)` : example}`,
      );
    },
  });
}
