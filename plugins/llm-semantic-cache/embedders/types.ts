/**
 * Turns texts into vectors for the semantic cache. Vectors are unit length (cosine similarity = dot product).
 * Implementations: the built-in offline model (run in a worker thread, off the plugin server's event loop) and any
 * OpenAI-compatible /embeddings endpoint.
 */
export interface Embedder {
  /** Stable id of embedder + model (part of the cache partition: vectors of different embedders never mix). */
  readonly id: string;
  /** Vector length, detected on first use for remote endpoints. */
  dimensions(): Promise<number>;
  embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]>;
  close(): Promise<void>;
}
