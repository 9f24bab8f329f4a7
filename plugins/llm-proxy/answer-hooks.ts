import { sanitizeHeaderValues } from '../runtime/relay/header-values';
import type { ChatChunk, ChatCompletion, ChunkHooks, Exchange } from '../runtime/relay/stage';

/** Gives every stage its last look before the answer's headers are written, last stage first. */
export function beforeAnswer(ex: Exchange): void {
  for (const stage of [...ex.stages].reverse()) stage.beforeAnswer?.(ex);
  sanitizeHeaderValues(ex.responseHeaders);
}

/** Lets every stage that asks rewrite a non-streamed chat completion, last stage first. Returns whether any did. */
export function transformCompletion(ex: Exchange, completion: ChatCompletion): boolean {
  let touched = false;
  for (const stage of [...ex.stages].reverse()) {
    if (!stage.transformCompletion) continue;
    stage.transformCompletion(ex, completion);
    touched = true;
  }
  return touched;
}

/**
 * The stages' chunk hooks chained, last stage first (the order answers travel back through the plugins): each
 * hook's output chunks are the next hook's input. Undefined when no stage looks at streamed chunks, so the stream
 * passes through without being parsed.
 */
export function chainChunkHooks(ex: Exchange): ChunkHooks | undefined {
  const hooks = [...ex.stages]
    .reverse()
    .map((s) => s.chunkHooks?.(ex))
    .filter((h): h is ChunkHooks => h !== undefined);
  if (hooks.length === 0) return undefined;
  const through = (from: number, chunks: ChatChunk[]): { chunks: ChatChunk[]; stop: boolean } => {
    let current = chunks;
    let stop = false;
    for (let i = from; i < hooks.length; i++) {
      const next: ChatChunk[] = [];
      for (const chunk of current) {
        const r = hooks[i].onChunk(chunk);
        next.push(...r.chunks);
        stop ||= r.stop === true;
      }
      current = next;
    }
    return { chunks: current, stop };
  };
  return {
    onChunk: (chunk) => through(0, [chunk]),
    // each hook's held-back chunks still pass through the hooks after it, which may be holding some too
    flush: () => hooks.flatMap((hook, i) => through(i + 1, hook.flush()).chunks),
  };
}
