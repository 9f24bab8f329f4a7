import { encode } from '@msgpack/msgpack';
import { MsgpackStreamReader } from '../../../plugins/runtime/protocol/msgpack-stream';

const messages = [
  [0, 1, 'plugin.Step', [{ EventId: 7, Data: { host: ['example.com'], accept: [] } }]],
  [0, 2, 'plugin.StepMultiMap', [{ EventId: 7, Data: new Uint8Array([1, 2, 3, 250]) }]],
  [2, 'serverPid', 4242],
  [0, 3, 'plugin.HandleEvent', [{ InstanceId: 2 ** 40 + 5, EventName: 'access', big: 'x'.repeat(70_000), n: -1.5, t: true, z: null }]],
];
const wire = Buffer.concat(messages.map((m) => Buffer.from(encode(m))));

describe('MsgpackStreamReader', () => {
  it('decodes back-to-back messages delivered in one chunk', () => {
    expect(new MsgpackStreamReader().push(wire)).toEqual(messages);
  });

  it('decodes correctly whatever byte boundary a read splits the stream at (incl. between two items)', () => {
    // every split point in the first 400 bytes and around each message boundary, plus a sample elsewhere
    const boundaries = messages.reduce<number[]>((acc, m) => [...acc, (acc.at(-1) ?? 0) + encode(m).length], []);
    const points = new Set<number>();
    for (let i = 1; i < 400; i++) points.add(i);
    for (const b of boundaries) for (let d = -3; d <= 3; d++) if (b + d > 0 && b + d < wire.length) points.add(b + d);
    for (let i = 400; i < wire.length; i += 997) points.add(i);
    for (const at of points) {
      const reader = new MsgpackStreamReader();
      const out = [...reader.push(wire.subarray(0, at)), ...reader.push(wire.subarray(at))];
      expect(out).toEqual(messages);
      expect(reader.buffered).toBe(0);
    }
  });

  it('decodes a stream fed one byte at a time', () => {
    const reader = new MsgpackStreamReader();
    const out: unknown[] = [];
    for (const byte of wire.subarray(0, 5000)) out.push(...reader.push(Uint8Array.of(byte)));
    out.push(...reader.push(wire.subarray(5000)));
    expect(out).toEqual(messages);
  });

  it('decodes an 8 MB raw body arriving in 64 KB reads in linear time (well under 50 ms of CPU)', () => {
    const body = Buffer.alloc(8 * 1024 * 1024, 0x61);
    const message = Buffer.from(encode([1, 9, null, { EventId: 1, Data: body }]));
    const run = () => {
      const reader = new MsgpackStreamReader();
      const started = process.cpuUsage(); // CPU time, not wall time: other test workers share the cores
      let out: unknown[] = [];
      for (let i = 0; i < message.length; i += 65536) out = out.concat(reader.push(message.subarray(i, i + 65536)));
      const used = process.cpuUsage(started);
      return { ms: (used.user + used.system) / 1000, out };
    };
    run(); // warm-up
    const runs = [run(), run(), run()];
    const { out } = runs[0];
    expect(out).toHaveLength(1);
    expect(((out[0] as unknown[])[3] as { Data: Uint8Array }).Data.length).toBe(body.length);
    // the best of three: a garbage collection of the test worker's heap may land in any one run
    expect(Math.min(...runs.map((r) => r.ms))).toBeLessThan(50);
  });

  it('rejects bytes that are not MessagePack', () => {
    expect(() => new MsgpackStreamReader().push(Uint8Array.of(0xc1))).toThrow(/invalid MessagePack/);
  });
});
