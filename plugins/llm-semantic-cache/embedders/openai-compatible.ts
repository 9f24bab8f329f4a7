import { request } from 'undici';
import type { Embedder } from './types';
import { normalizeInPlace } from './vector';

export interface OpenAICompatibleOptions {
  /** Base URL including the version segment, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1. */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** `authorization`: Bearer token (OpenAI, Ollama, vLLM…); `api-key`: the key in an api-key header (Azure OpenAI). */
  authHeader: 'authorization' | 'api-key';
  timeoutMs: number;
}

const MAX_ERROR_TEXT = 300;

/** Any server speaking OpenAI's POST /embeddings: OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio, TEI… */
export class OpenAICompatibleEmbedder implements Embedder {
  readonly id: string;
  private readonly url: string;
  private detected?: number;

  constructor(private readonly options: OpenAICompatibleOptions) {
    this.url = embeddingsUrl(options.baseUrl);
    const u = new URL(this.url);
    this.id = `openai-compatible:${options.model}@${u.host}${u.pathname}`;
  }

  async dimensions(): Promise<number> {
    if (this.detected === undefined) await this.embed(['dimensions']);
    return this.detected!;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    const key = this.options.apiKey;
    if (key) headers[this.options.authHeader] = this.options.authHeader === 'authorization' ? `Bearer ${key}` : key;
    let status: number;
    let text: string;
    try {
      const res = await request(this.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: this.options.model, input: texts, encoding_format: 'float' }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      if (timeout.aborted) throw new Error(`embedding endpoint ${this.where()} did not answer within ${this.options.timeoutMs} ms`);
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('embedding aborted');
      throw new Error(`embedding endpoint ${this.where()} is unreachable: ${(err as Error).message}`);
    }
    if (status < 200 || status >= 300) throw new Error(`embedding endpoint ${this.where()} answered HTTP ${status}: ${this.redact(errorText(text))}`);
    const vectors = this.parse(text, texts.length);
    this.detected ??= vectors[0].length;
    if (vectors.some((v) => v.length !== this.detected)) {
      throw new Error(`embedding endpoint ${this.where()} returned ${vectors[0].length} dimensions, expected ${this.detected}`);
    }
    return vectors;
  }

  async close(): Promise<void> {}

  private parse(text: string, expected: number): Float32Array[] {
    let data: unknown;
    try {
      data = (JSON.parse(text) as { data?: unknown }).data;
    } catch {
      throw new Error(`embedding endpoint ${this.where()} answered with invalid JSON`);
    }
    const items = Array.isArray(data) ? (data as { index?: unknown; embedding?: unknown }[]) : [];
    const vectors: Float32Array[] = new Array(expected);
    items.forEach((item, position) => {
      const index = typeof item?.index === 'number' ? item.index : position;
      if (Array.isArray(item?.embedding) && index >= 0 && index < expected && item.embedding.every((x) => typeof x === 'number')) {
        vectors[index] = normalizeInPlace(Float32Array.from(item.embedding as number[]));
      }
    });
    for (let i = 0; i < expected; i++) {
      if (!vectors[i] || vectors[i].length === 0) {
        throw new Error(`embedding endpoint ${this.where()} returned no float embedding for input ${i} (expected data[].embedding arrays)`);
      }
    }
    return vectors;
  }

  private where(): string {
    const u = new URL(this.url);
    return `${u.origin}${u.pathname}`;
  }

  /** Servers sometimes echo the credential they refused; it must not reach logs through our error. */
  private redact(text: string): string {
    const key = this.options.apiKey;
    return key ? text.split(key).join('[redacted]') : text;
  }
}

/** `{base}/embeddings`, keeping a query string such as Azure's `?api-version=`. */
export function embeddingsUrl(baseUrl: string): string {
  const u = new URL(baseUrl);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/embeddings`;
  return u.toString();
}

function errorText(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const message = typeof body.error === 'string' ? body.error : (body.error?.message ?? body.message);
    if (typeof message === 'string') return message.slice(0, MAX_ERROR_TEXT);
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, MAX_ERROR_TEXT) || '(empty body)';
}
