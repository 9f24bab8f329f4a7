import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BuiltinEmbedder, builtinEmbedderStats, MAX_QUEUED_TEXTS } from '../../plugins/llm-semantic-cache/embedders/builtin';
import { createEmbedder, embedderConfigSchema } from '../../plugins/llm-semantic-cache/embedders';
import { embeddingsUrl } from '../../plugins/llm-semantic-cache/embedders/openai-compatible';
import { dot } from '../../plugins/llm-semantic-cache/embedders/vector';
import { OpenAiMock } from '../support/mock-providers/openai-mock';

const norm = (v: Float32Array) => Math.sqrt(dot(v, v));
const ROOT = join(__dirname, '..', '..');

describe('builtin embedder (USE-lite in a worker thread)', () => {
  let embedder: BuiltinEmbedder;

  beforeAll(async () => {
    embedder = new BuiltinEmbedder(30_000);
    await embedder.dimensions(); // loads the model once for the whole file
  }, 60_000);

  afterAll(() => embedder.close());

  it('has 512 dimensions and answers unit vectors', async () => {
    expect(await embedder.dimensions()).toBe(512);
    const [v] = await embedder.embed(['How do I reset my password?']);
    expect(Object.prototype.toString.call(v)).toBe('[object Float32Array]'); // crosses realms: no instanceof
    expect(v).toHaveLength(512);
    expect(norm(v)).toBeCloseTo(1, 4);
  });

  it('scores a paraphrase far above an unrelated question', async () => {
    const [q, paraphrase, unrelated] = await embedder.embed([
      'How do I reset my password?',
      'How can I change my password if I forgot it?',
      'What is the best recipe for sourdough bread?',
    ]);
    expect(dot(q, paraphrase)).toBeGreaterThan(0.8);
    expect(dot(q, unrelated)).toBeLessThan(0.4);
  });

  it('sends concurrent requests to the worker together and gives each caller its own vectors', async () => {
    const texts = Array.from({ length: 24 }, (_, i) => `Where is my order number ${i}?`);
    const [alone] = await embedder.embed([texts[5]]);
    const before = builtinEmbedderStats();
    const results = await Promise.all(texts.map((t) => embedder.embed([t])));
    const after = builtinEmbedderStats();
    expect(after.texts - before.texts).toBe(24);
    expect(after.batches - before.batches).toBeLessThan(24);
    for (const [v] of results) expect(norm(v)).toBeCloseTo(1, 4);
    expect(dot(results[5][0], alone)).toBeCloseTo(1, 4);
    expect(dot(results[5][0], results[6][0])).toBeLessThan(0.999);
  });

  it('shares one model between embedders: closing one leaves the other working', async () => {
    const second = new BuiltinEmbedder(30_000);
    await second.close();
    await expect(second.embed(['hello'])).rejects.toThrow('embedder is closed');
    const [v] = await embedder.embed(['still here']);
    expect(v).toHaveLength(512);
  });

  it('fails fast on timeout, abort and overload', async () => {
    const hurried = new BuiltinEmbedder(1);
    const texts = Array.from({ length: 4 }, (_, i) => `A customer message number ${i} about an invoice that was charged twice.`);
    await expect(hurried.embed(texts)).rejects.toThrow('did not answer within 1 ms');
    await hurried.close();

    const aborted = AbortSignal.abort(new Error('client went away'));
    await expect(embedder.embed(['hello'], aborted)).rejects.toThrow('client went away');

    await expect(embedder.embed(Array.from({ length: MAX_QUEUED_TEXTS + 1 }, () => 'x'))).rejects.toThrow('overloaded');
    const [v] = await embedder.embed(['after the storm']);
    expect(v).toHaveLength(512);
  });

  it('wakes requests waiting for the model when the last embedder closes during the load', async () => {
    let Fresh!: typeof BuiltinEmbedder;
    jest.isolateModules(() => {
      ({ BuiltinEmbedder: Fresh } = jest.requireActual<typeof import('../../plugins/llm-semantic-cache/embedders/builtin')>('../../plugins/llm-semantic-cache/embedders/builtin'));
    });
    const loading = new Fresh(30_000); // a module of its own: its own, not yet loaded, model
    const waiting = loading.embed(['hello']);
    await loading.close();
    await expect(waiting).rejects.toThrow(/built-in embedder worker exited|embedder is closed/);
  });

  it('loads and embeds with the network disabled (weights come from the model package on disk)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'offline-embed-'));
    try {
      const blocker = join(dir, 'no-network.js');
      // preloaded in the main thread and in the worker: any socket or DNS use throws
      writeFileSync(
        blocker,
        `const net = require('node:net'); const dns = require('node:dns');
         net.Socket.prototype.connect = function () { throw new Error('network disabled'); };
         dns.lookup = function () { throw new Error('network disabled'); };
         globalThis.fetch = async () => { throw new Error('network disabled'); };`,
      );
      const script = `const { BuiltinEmbedder } = require(${JSON.stringify(join(ROOT, 'dist/plugins/llm-semantic-cache/embedders/builtin.js'))});
        const e = new BuiltinEmbedder(30000);
        e.embed(['offline works']).then(async ([v]) => { console.log(JSON.stringify({ dims: v.length })); await e.close(); });`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--require', blocker, '-e', script], { timeout: 60_000 });
      expect(JSON.parse(stdout.trim())).toEqual({ dims: 512 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('openai-compatible embedder', () => {
  const KEY = 'sk-test-embeddings-0123456789';
  const mock = new OpenAiMock({ apiKey: KEY, embeddingDimensions: 48 });
  let baseUrl: string;

  beforeAll(async () => {
    baseUrl = `${(await mock.start()).url}/v1`;
  });
  afterAll(() => mock.stop());
  afterEach(() => mock.reset());

  const make = (overrides: Record<string, unknown> = {}) =>
    createEmbedder(
      embedderConfigSchema.parse({
        embedder: 'openai-compatible',
        embedder_url: baseUrl,
        embedder_model: 'text-embedding-3-small',
        embedder_api_key: KEY,
        ...overrides,
      }),
    );

  it('posts model, inputs and encoding_format float; detects dimensions; returns unit vectors in input order', async () => {
    const embedder = make();
    const vectors = await embedder.embed(['reset my password', 'track my parcel']);
    expect(await embedder.dimensions()).toBe(48);
    expect(vectors.map((v) => v.length)).toEqual([48, 48]);
    for (const v of vectors) expect(norm(v)).toBeCloseTo(1, 5);
    expect(dot(vectors[0], vectors[1])).toBeLessThan(0.99);
    const [request] = mock.requests;
    expect(request.path).toBe('/v1/embeddings');
    expect(request.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request.body).toEqual({ model: 'text-embedding-3-small', input: ['reset my password', 'track my parcel'], encoding_format: 'float' });
    expect(embedder.id).toMatch(/^openai-compatible:text-embedding-3-small@127\.0\.0\.1:\d+\/v1\/embeddings$/);
    expect(embedder.id).not.toContain(KEY);
  });

  it('sends the key in an api-key header for Azure and keeps the api-version query', async () => {
    expect(embeddingsUrl('https://res.openai.azure.com/openai/deployments/emb/?api-version=2024-10-21')).toBe(
      'https://res.openai.azure.com/openai/deployments/emb/embeddings?api-version=2024-10-21',
    );
    const open = new OpenAiMock();
    const { url } = await open.start();
    try {
      const embedder = make({ embedder_url: `${url}/v1?api-version=2024-10-21`, embedder_auth_header: 'api-key' });
      await embedder.embed(['hello']);
      expect(open.requests[0].headers['api-key']).toBe(KEY);
      expect(open.requests[0].headers.authorization).toBeUndefined();
      expect(open.requests[0].query.get('api-version')).toBe('2024-10-21');
    } finally {
      await open.stop();
    }
  });

  it('reports a refused key with the status and message, never the key', async () => {
    mock.setFault({ status: 401, contentType: 'application/json', body: JSON.stringify({ error: { message: `Incorrect API key provided: ${KEY}` } }) }, 1);
    const err = await make().embed(['hello']).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('answered HTTP 401: Incorrect API key provided: [redacted]');
    expect((err as Error).message).not.toContain(KEY);
  });

  it('times out, and names an unreachable endpoint without its credentials', async () => {
    mock.setFault({ delayMs: 2_000 }, 1);
    await expect(make({ embedder_timeout_ms: 100 }).embed(['slow'])).rejects.toThrow('did not answer within 100 ms');

    const gone = new OpenAiMock();
    const { url } = await gone.start();
    await gone.stop();
    const err = (await make({ embedder_url: `${url}/v1` })
      .embed(['hello'])
      .catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/embedding endpoint http:\/\/127\.0\.0\.1:\d+\/v1\/embeddings is unreachable/);
    expect(err.message).not.toContain(KEY);
  });

  it('rejects an answer without float embeddings', async () => {
    mock.setFault({ status: 200, contentType: 'application/json', body: JSON.stringify({ data: [{ index: 0, embedding: 'AAAA' }] }) }, 1);
    await expect(make().embed(['hello'])).rejects.toThrow('returned no float embedding for input 0');
  });

  it('needs a URL and a model', () => {
    expect(() => createEmbedder(embedderConfigSchema.parse({ embedder: 'openai-compatible', embedder_model: 'm' }))).toThrow('embedder_url is required');
    expect(() => createEmbedder(embedderConfigSchema.parse({ embedder: 'openai-compatible', embedder_url: 'http://127.0.0.1:1/v1' }))).toThrow(
      'embedder_model is required',
    );
  });
});
