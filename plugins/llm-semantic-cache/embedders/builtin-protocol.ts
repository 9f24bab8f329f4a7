/** Messages between builtin.ts (host) and builtin-worker.ts. */
export interface HostMessage {
  id: number;
  texts: string[];
}

export type WorkerMessage =
  | { type: 'ready'; dimensions: number }
  | { type: 'load-failed'; message: string }
  | { type: 'vectors'; id: number; flat: Float32Array; dimensions: number }
  | { type: 'failed'; id: number; message: string };
