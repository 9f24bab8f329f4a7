import { PassThrough } from 'node:stream';
import { JsonLinesSink } from '../../../plugins/runtime/usage-sinks/json-lines';
import { numberedEvent, range } from './events';

describe('JsonLinesSink (stdout)', () => {
  it('writes one parseable line per event, the event itself', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const sink = new JsonLinesSink('stdout', out);
    const events = range(0, 20).map(numberedEvent);
    for (const e of events) sink.write(e);
    expect(await sink.flush(1_000)).toBe(true);

    const lines = Buffer.concat(chunks).toString().split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => JSON.parse(line))).toEqual(events);
    expect(sink.stats()).toEqual({ delivered: 20, dropped: 0, queued: 0, failures: 0 });
  });
});
