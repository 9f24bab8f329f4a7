import fc from 'fast-check';

/**
 * fc.assert with a bounded number of runs and a failure report cut short: generated bodies can be megabytes,
 * and the seed and path in the report replay the exact case anyway.
 */
export async function assertProperty<T>(property: fc.IAsyncPropertyWithHooks<T>, numRuns: number): Promise<void> {
  await fc.assert(property, {
    numRuns,
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
