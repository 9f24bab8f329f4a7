import { Redis } from 'ioredis';
import { RedisStreamSink, type RedisStreamSinkOptions } from '../../../plugins/runtime/usage-sinks/redis-stream';
import { startRedisServer, type RedisServer } from '../../support/redis-server';
import { numberedEvent, range, sleep } from './events';

const STREAM = 'llm:usage:test';

async function streamSeqs(url: string): Promise<number[]> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 2_000 });
  try {
    const entries = await client.xrange(STREAM, '-', '+');
    return entries.map(([, fields]) => (JSON.parse(fields[fields.indexOf('event') + 1]) as { seq: number }).seq);
  } finally {
    client.disconnect();
  }
}

function sinkOptions(url: string, overrides: Partial<RedisStreamSinkOptions> = {}): RedisStreamSinkOptions {
  return {
    url,
    stream: STREAM,
    maxLen: 100_000,
    maxBuffer: 10_000,
    batchSize: 50,
    intervalMs: 0,
    commandTimeoutMs: 300,
    connectTimeoutMs: 300,
    retryBaseMs: 20,
    retryMaxMs: 200,
    ...overrides,
  };
}

describe('RedisStreamSink', () => {
  let server: RedisServer | undefined;
  let sink: RedisStreamSink | undefined;
  afterEach(async () => {
    await sink?.close();
    await server?.stop();
    sink = server = undefined;
  });

  it('XADDs every event in order', async () => {
    server = await startRedisServer();
    sink = new RedisStreamSink(sinkOptions(server.url));
    for (const seq of range(0, 120)) sink.write(numberedEvent(seq));
    expect(await sink.flush(5_000)).toBe(true);
    expect(await streamSeqs(server.url)).toEqual(range(0, 120));
    expect(sink.stats()).toMatchObject({ delivered: 120, dropped: 0, queued: 0 });
  });

  it('buffers while Redis is down mid-traffic and replays everything in order once it is back', async () => {
    server = await startRedisServer();
    const { port } = server;
    sink = new RedisStreamSink(sinkOptions(server.url));
    let seq = 0;
    const traffic = setInterval(() => {
      for (let i = 0; i < 5; i++) sink!.write(numberedEvent(seq++));
    }, 5);
    let firstWhileDown: number;
    let lastWhileDown: number;
    try {
      await sleep(100);
      await server.stop();
      firstWhileDown = seq; // events before this may have reached the old server, whose data is gone with it
      await sleep(400);
      lastWhileDown = seq;
      expect(sink.stats().queued).toBeGreaterThan(0);
      server = await startRedisServer({ port });
      await sleep(200);
    } finally {
      clearInterval(traffic);
    }
    const produced = seq;
    expect(await sink.flush(10_000)).toBe(true);

    const inStream = await streamSeqs(server.url);
    expect(lastWhileDown - firstWhileDown).toBeGreaterThan(50);
    expect(inStream[0]).toBeLessThanOrEqual(firstWhileDown);
    // one unbroken run, each event once, from before the outage to the last event produced
    expect(inStream).toEqual(range(inStream[0], produced));
    expect(sink.stats()).toMatchObject({ dropped: 0, queued: 0 });
    expect(sink.stats().failures).toBeGreaterThan(0);
  });

  it('does not hang on a Redis that stops answering (paused): retries after the command timeout, nothing lost', async () => {
    server = await startRedisServer();
    sink = new RedisStreamSink(sinkOptions(server.url));
    server.pause();
    try {
      for (const s of range(0, 200)) sink.write(numberedEvent(s));
      expect(await sink.flush(700)).toBe(false);
      expect(sink.stats().failures).toBeGreaterThan(0);
    } finally {
      server.resume();
    }
    expect(await sink.flush(10_000)).toBe(true);
    // at least once: a batch whose answer timed out may have been applied, then sent again
    expect([...new Set(await streamSeqs(server.url))]).toEqual(range(0, 200));
  });

  it('keeps at most maxBuffer events while Redis is down, counts the drops, and replays the newest', async () => {
    server = await startRedisServer();
    const { port } = server;
    await server.stop();
    sink = new RedisStreamSink(sinkOptions(`redis://127.0.0.1:${port}`, { maxBuffer: 100 }));
    for (const s of range(0, 1_000)) sink.write(numberedEvent(s));
    expect(sink.stats()).toMatchObject({ dropped: 900, queued: 100, delivered: 0 });

    server = await startRedisServer({ port });
    expect(await sink.flush(10_000)).toBe(true);
    expect(await streamSeqs(server.url)).toEqual(range(900, 1_000));
    expect(sink.stats()).toMatchObject({ delivered: 100, dropped: 900, queued: 0 });
  });

  it('trims the stream to about MAXLEN entries', async () => {
    server = await startRedisServer();
    sink = new RedisStreamSink(sinkOptions(server.url, { maxLen: 100 }));
    for (const s of range(0, 2_000)) sink.write(numberedEvent(s));
    expect(await sink.flush(10_000)).toBe(true);
    const length = (await streamSeqs(server.url)).length;
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(2_000);
  });
});
