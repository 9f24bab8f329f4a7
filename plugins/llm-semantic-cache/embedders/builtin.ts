import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { HostMessage, WorkerMessage } from './builtin-protocol';
import type { Embedder } from './types';

/** Texts sent to the worker in one batch: the model's cost per text falls with batch size up to about here. */
export const MAX_BATCH_TEXTS = 64;
/** Texts allowed to wait for the worker; beyond it requests fail at once instead of queueing into their timeout. */
export const MAX_QUEUED_TEXTS = 1024;
const LOAD_TIMEOUT_MS = 60_000;
/** A batch still unanswered after this is taken for a hung worker: it is terminated and restarted on next use. */
const STUCK_BATCH_MS = 30_000;

export const BUILTIN_EMBEDDER_ID = 'builtin:universal-sentence-encoder-lite@0.2.0';

interface Job {
  texts: string[];
  resolve: (vectors: Float32Array[]) => void;
  reject: (err: Error) => void;
  done: boolean;
  cleanup: () => void;
}

/**
 * The worker script as compiled JS. From dist/ it sits next to this file; when this module runs as TypeScript
 * (tests through ts-jest) the compiled copy under dist/ is used — `npm run build` produces it.
 */
function workerScript(): string {
  if (!__filename.endsWith('.ts')) return join(__dirname, 'builtin-worker.js');
  const root = join(__dirname, '..', '..', '..');
  const script = join(root, 'dist', relative(root, __dirname), 'builtin-worker.js');
  if (!existsSync(script)) throw new Error(`built-in embedder worker not built: run npm run build (missing ${relative(root, script)})`);
  return script;
}

/**
 * The one model per process: a worker thread that loads on first use and is shared by every BuiltinEmbedder.
 * Concurrent requests are queued and sent as one batch whenever the worker is free (micro-batching).
 */
class ModelHost {
  private worker?: Worker;
  private ready?: Promise<number>;
  private queue: Job[] = [];
  private queuedTexts = 0;
  private inFlight?: { id: number; jobs: Job[]; watchdog: NodeJS.Timeout };
  private nextId = 1;
  private pumpScheduled = false;
  users = 0;
  readonly stats = { batches: 0, texts: 0 };

  start(): Promise<number> {
    if (this.ready) return this.ready;
    const worker = new Worker(workerScript());
    this.worker = worker;
    this.ready = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`built-in embedder did not load within ${LOAD_TIMEOUT_MS} ms`)), LOAD_TIMEOUT_MS);
      const fail = (err: Error) => {
        clearTimeout(timer);
        if (this.worker === worker) this.stop(err); // not a newer worker started after this one was stopped
        reject(err); // a no-op once loaded; while loading, wakes the requests waiting for the model
      };
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve(message.dimensions);
          this.updateRef();
        } else if (message.type === 'load-failed') fail(new Error(`built-in embedder failed to load its model: ${message.message}`));
        else this.onAnswer(message);
      });
      worker.on('error', (err) => fail(new Error(`built-in embedder worker crashed: ${err.message}`)));
      worker.on('exit', (code) => fail(new Error(`built-in embedder worker exited (code ${code})`)));
    });
    this.ready.catch(() => undefined); // callers see the rejection through their own await
    return this.ready;
  }

  async embed(texts: string[], timeoutMs: number, signal?: AbortSignal): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    signal?.throwIfAborted();
    await this.start();
    signal?.throwIfAborted();
    if (this.queuedTexts + texts.length > MAX_QUEUED_TEXTS) {
      throw new Error(`built-in embedder is overloaded (${this.queuedTexts} texts waiting, limit ${MAX_QUEUED_TEXTS})`);
    }
    return new Promise<Float32Array[]>((resolve, reject) => {
      const finish = (err?: Error, vectors?: Float32Array[]) => {
        if (job.done) return;
        job.done = true;
        job.cleanup();
        if (err) reject(err);
        else resolve(vectors!);
      };
      const timer = setTimeout(() => finish(new Error(`built-in embedder did not answer within ${timeoutMs} ms`)), timeoutMs);
      const onAbort = () => finish(signal?.reason instanceof Error ? signal.reason : new Error('embedding aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const job: Job = {
        texts,
        done: false,
        resolve: (vectors) => finish(undefined, vectors),
        reject: (err) => finish(err),
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      this.queue.push(job);
      this.queuedTexts += texts.length;
      this.schedulePump();
    });
  }

  /** Waits one turn of the event loop so that requests arriving together travel in one batch. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.inFlight || !this.worker) return;
    const jobs: Job[] = [];
    let count = 0;
    while (this.queue.length > 0 && (jobs.length === 0 || count + this.queue[0].texts.length <= MAX_BATCH_TEXTS)) {
      const job = this.queue.shift()!;
      this.queuedTexts -= job.texts.length;
      if (job.done) continue; // timed out or aborted while waiting
      jobs.push(job);
      count += job.texts.length;
    }
    if (jobs.length === 0) return this.updateRef();
    const id = this.nextId++;
    const watchdog = setTimeout(() => void this.worker?.terminate(), STUCK_BATCH_MS);
    this.inFlight = { id, jobs, watchdog };
    this.stats.batches++;
    this.stats.texts += count;
    this.worker.postMessage({ id, texts: jobs.flatMap((j) => j.texts) } satisfies HostMessage);
    this.updateRef();
  }

  private onAnswer(message: Extract<WorkerMessage, { id: number }>): void {
    const batch = this.inFlight;
    if (!batch || batch.id !== message.id) return;
    clearTimeout(batch.watchdog);
    this.inFlight = undefined;
    if (message.type === 'failed') {
      for (const job of batch.jobs) job.reject(new Error(`built-in embedder failed: ${message.message}`));
    } else {
      let offset = 0;
      for (const job of batch.jobs) {
        const vectors = job.texts.map(() => {
          const v = message.flat.slice(offset, offset + message.dimensions);
          offset += message.dimensions;
          return v;
        });
        job.resolve(vectors);
      }
    }
    this.pump();
  }

  /** A worker with nothing to do must not keep the process alive; one with work must. */
  private updateRef(): void {
    if (this.inFlight || this.queue.length > 0) this.worker?.ref();
    else this.worker?.unref();
  }

  /** Terminates the worker and fails everything waiting; the next request starts a new one. */
  stop(reason: Error): void {
    const worker = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    if (this.inFlight) {
      clearTimeout(this.inFlight.watchdog);
      for (const job of this.inFlight.jobs) job.reject(reason);
      this.inFlight = undefined;
    }
    for (const job of this.queue.splice(0)) job.reject(reason);
    this.queuedTexts = 0;
    void worker?.terminate();
  }
}

const host = new ModelHost();

/**
 * Starts loading the built-in model now (LLM_PRELOAD_EMBEDDER=builtin at plugin-server start), so that the first
 * semantic request does not wait for it: Kong starts instances, and so their warm-up, only on a route's first request.
 */
export function preloadBuiltinEmbedder(): Promise<number> {
  return host.start();
}

/** Batches and texts sent to the worker since the process started (micro-batching shows as texts > batches). */
export function builtinEmbedderStats(): { batches: number; texts: number } {
  return { ...host.stats };
}

/**
 * The offline default: Universal Sentence Encoder lite (512 dimensions, English, reads the first ~128 tokens),
 * run in a worker thread off the plugin server's event loop. All instances share one loaded model.
 */
export class BuiltinEmbedder implements Embedder {
  readonly id = BUILTIN_EMBEDDER_ID;
  private closed = false;

  constructor(private readonly timeoutMs: number) {
    host.users++;
  }

  dimensions(): Promise<number> {
    return host.start();
  }

  embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (this.closed) return Promise.reject(new Error('embedder is closed'));
    return host.embed(texts, this.timeoutMs, signal);
  }

  /** The model stays loaded while another embedder uses it; the last one to close stops the worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (--host.users === 0) host.stop(new Error('embedder is closed'));
  }
}
