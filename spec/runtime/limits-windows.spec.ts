import { isValidTimeZone, secondsUntilEnd, windowAt } from '../../plugins/runtime/limits/windows';

const at = (iso: string) => Date.parse(iso);

describe('counting windows', () => {
  it('aligns second-based windows to the epoch', () => {
    const slot = windowAt(60, at('2026-11-23T10:15:42.500Z'));
    expect(new Date(slot.startMs).toISOString()).toBe('2026-11-23T10:15:00.000Z');
    expect(slot.endMs - slot.startMs).toBe(60_000);
    expect(secondsUntilEnd(slot, at('2026-11-23T10:15:42.500Z'))).toBe(18);
  });

  it('starts a day at local midnight in the configured time zone', () => {
    const slot = windowAt('day', at('2026-11-23T22:30:00Z'), 'Europe/Paris'); // 23:30 in Paris
    expect(new Date(slot.startMs).toISOString()).toBe('2026-11-22T23:00:00.000Z');
    expect(new Date(slot.endMs).toISOString()).toBe('2026-11-23T23:00:00.000Z');
    const next = windowAt('day', at('2026-11-23T23:00:00Z'), 'Europe/Paris'); // local midnight exactly
    expect(next.startMs).toBe(slot.endMs);
    expect(next.id).not.toBe(slot.id);
  });

  it('handles a DST change: the day of the spring switch lasts 23 hours', () => {
    const slot = windowAt('day', at('2026-03-29T12:00:00Z'), 'Europe/Paris');
    expect((slot.endMs - slot.startMs) / 3_600_000).toBe(23);
  });

  it('starts weeks on Monday and months on the 1st', () => {
    const week = windowAt('week', at('2026-11-26T12:00:00Z'), 'UTC'); // a Thursday
    expect(new Date(week.startMs).toISOString()).toBe('2026-11-23T00:00:00.000Z');
    const month = windowAt('month', at('2026-02-14T12:00:00Z'), 'America/New_York');
    expect(new Date(month.startMs).toISOString()).toBe('2026-02-01T05:00:00.000Z');
    expect(new Date(month.endMs).toISOString()).toBe('2026-03-01T05:00:00.000Z');
  });

  it('rejects unknown time zones', () => {
    expect(isValidTimeZone('Europe/Paris')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
    expect(() => windowAt('day', Date.now(), 'Mars/Olympus')).toThrow('unknown time zone');
  });
});
