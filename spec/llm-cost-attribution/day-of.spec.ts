import { DateTime } from 'luxon';
import { dayOf } from '../../plugins/llm-cost-attribution/aggregates';

describe('dayOf (the report day of a spend, in the report time zone)', () => {
  const at = (iso: string, zone: string) => DateTime.fromISO(iso, { zone }).toMillis();

  it('changes day exactly at local midnight, also after the same day was asked before', () => {
    const zone = 'Europe/Paris';
    expect(dayOf(at('2026-03-28T12:00:00', zone), zone)).toBe('2026-03-28');
    expect(dayOf(at('2026-03-28T23:59:59.999', zone), zone)).toBe('2026-03-28');
    expect(dayOf(at('2026-03-29T00:00:00', zone), zone)).toBe('2026-03-29'); // the night clocks go forward
    expect(dayOf(at('2026-03-29T23:59:59.999', zone), zone)).toBe('2026-03-29'); // a 23-hour day
    expect(dayOf(at('2026-03-30T00:00:00', zone), zone)).toBe('2026-03-30');
    expect(dayOf(at('2026-03-28T08:00:00', zone), zone)).toBe('2026-03-28'); // back in time: no stale answer
  });

  it('keeps each time zone apart', () => {
    const t = Date.UTC(2026, 10, 23, 23, 30);
    expect(dayOf(t, 'UTC')).toBe('2026-11-23');
    expect(dayOf(t, 'Asia/Tokyo')).toBe('2026-11-24');
    expect(dayOf(t, 'America/Los_Angeles')).toBe('2026-11-23');
    expect(dayOf(t + 60 * 60 * 1000, 'UTC')).toBe('2026-11-24');
  });
});
