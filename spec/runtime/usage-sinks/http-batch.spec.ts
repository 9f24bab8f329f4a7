import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpBatchSink, type HttpBatchSinkOptions } from '../../../plugins/runtime/usage-sinks/http-batch';
import { freePort } from '../../support/redis-server';
import { numberedEvent, range, sleep } from './events';

type Behaviour = 'accept' | 'fail500' | 'reset' | 'hang' | 'refuse400';

/** A receiver on 127.0.0.1 that answers request n as `behaviour(n)` and keeps the batches it accepted. */
async function receiver(behaviour: (n: number) => Behaviour, port = 0) {
  const batches: number[][] = [];
  const authorizations: (string | undefined)[] = [];
  let requests = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      authorizations.push(req.headers.authorization);
      switch (behaviour(requests++)) {
        case 'accept':
          batches.push((JSON.parse(Buffer.concat(chunks).toString()) as { seq: number }[]).map((e) => e.seq));
          return void res.writeHead(204).end();
        case 'fail500':
          return void res.writeHead(500).end();
        case 'refuse400':
          return void res.writeHead(400).end();
        case 'reset':
          return void req.socket.destroy();
        case 'hang':
          return; // never answered: the sink's timeout must end it
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    batches,
    authorizations,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const fast: Omit<HttpBatchSinkOptions, 'url'> = { batchSize: 10, intervalMs: 20, maxBuffer: 1_000, timeoutMs: 200, retryBaseMs: 5, retryMaxMs: 40 };

describe('HttpBatchSink', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('loses nothing against a flaky receiver (500s, resets, timeouts) and keeps the order', async () => {
    const flaky: Behaviour[] = ['fail500', 'accept', 'reset', 'accept', 'hang', 'accept', 'accept', 'fail500'];
    const r = await receiver((n) => flaky[n % flaky.length]);
    cleanup.push(r.close);
    const sink = new HttpBatchSink({ ...fast, url: r.url, authorization: 'Bearer test-token' });
    cleanup.push(() => sink.close());

    for (const seq of range(0, 300)) {
      sink.write(numberedEvent(seq));
      if (seq % 25 === 0) await sleep(5); // traffic spread over time: interval and size triggers both fire
    }
    expect(await sink.flush(15_000)).toBe(true);

    expect(r.batches.flat()).toEqual(range(0, 300)); // each event once, in order
    for (const batch of r.batches) expect(batch.length).toBeLessThanOrEqual(10);
    expect(r.authorizations.every((a) => a === 'Bearer test-token')).toBe(true);
    const stats = sink.stats();
    expect(stats).toMatchObject({ delivered: 300, dropped: 0, queued: 0 });
    expect(stats.failures).toBeGreaterThan(0);
  });

  it('keeps memory bounded against a dead receiver, counts the drops, and delivers the newest once it is back', async () => {
    const port = await freePort();
    const sink = new HttpBatchSink({ ...fast, url: `http://127.0.0.1:${port}/events`, maxBuffer: 50 });
    cleanup.push(() => sink.close());

    for (const seq of range(0, 500)) {
      sink.write(numberedEvent(seq));
      expect(sink.stats().queued).toBeLessThanOrEqual(50);
    }
    expect(await sink.flush(200)).toBe(false);
    expect(sink.stats()).toMatchObject({ delivered: 0, dropped: 450, queued: 50 });
    expect(sink.stats().failures).toBeGreaterThan(0);

    const r = await receiver(() => 'accept', port);
    cleanup.push(r.close);
    expect(await sink.flush(10_000)).toBe(true);
    expect(r.batches.flat()).toEqual(range(450, 500)); // the oldest were the ones dropped
    expect(sink.stats()).toMatchObject({ delivered: 50, dropped: 450, queued: 0 });
  });

  it('drops a batch the receiver refuses (4xx) instead of retrying it forever', async () => {
    const r = await receiver((n) => (n === 0 ? 'refuse400' : 'accept'));
    cleanup.push(r.close);
    const sink = new HttpBatchSink({ ...fast, url: r.url, batchSize: 5 });
    cleanup.push(() => sink.close());
    for (const seq of range(0, 5)) sink.write(numberedEvent(seq));
    expect(await sink.flush(5_000)).toBe(true);
    for (const seq of range(5, 10)) sink.write(numberedEvent(seq));
    expect(await sink.flush(5_000)).toBe(true);
    expect(r.batches.flat()).toEqual(range(5, 10));
    expect(sink.stats()).toMatchObject({ delivered: 5, dropped: 5, queued: 0 });
  });

  it('counts what is still queued at close as dropped', async () => {
    const port = await freePort();
    const sink = new HttpBatchSink({ ...fast, url: `http://127.0.0.1:${port}/events` });
    for (const seq of range(0, 7)) sink.write(numberedEvent(seq));
    await sink.close();
    expect(sink.stats()).toMatchObject({ delivered: 0, dropped: 7, queued: 0 });
  });
});
