import { DateTime } from 'luxon';
import { z } from 'zod';

/**
 * A counting window as configured: a calendar period (minute, hour, day, week, month — in a time zone) or a fixed
 * number of seconds written `90s`. A string rather than a union of number and enum, because Kong's schema cannot
 * express unions.
 */
export const WINDOW_PATTERN = /^(minute|hour|day|week|month|[1-9][0-9]{0,7}s)$/;
export const windowSchema = z.string().regex(WINDOW_PATTERN, 'must be minute, hour, day, week, month or a number of seconds such as 90s');

/** A window parsed: seconds, or a calendar period. */
export type WindowSpec = number | 'minute' | 'hour' | 'day' | 'week' | 'month';

export function parseWindow(window: string): WindowSpec {
  if (!WINDOW_PATTERN.test(window)) throw new Error(`invalid window ${JSON.stringify(window)}`);
  return window.endsWith('s') ? Number(window.slice(0, -1)) : (window as Exclude<WindowSpec, number>);
}

export interface WindowSlot {
  /** Identifies the window instance; goes into counter keys. */
  id: string;
  startMs: number;
  endMs: number;
}

/**
 * The window that contains `nowMs`. Second-based windows are aligned to the epoch; calendar windows start at
 * the calendar boundary in `timeZone` (an IANA name such as "Europe/Paris"), so "day" ends at local midnight,
 * DST changes included. Weeks start on Monday (ISO).
 */
export function windowAt(window: WindowSpec | string, nowMs: number, timeZone = 'UTC'): WindowSlot {
  const spec = typeof window === 'string' ? parseWindow(window) : window;
  if (typeof spec === 'number') {
    const size = spec * 1000;
    const startMs = Math.floor(nowMs / size) * size;
    return { id: `${spec}s:${startMs}`, startMs, endMs: startMs + size };
  }
  const unit = spec === 'week' ? 'week' : spec;
  const start = DateTime.fromMillis(nowMs, { zone: timeZone }).startOf(unit);
  if (!start.isValid) throw new Error(`unknown time zone ${timeZone}`);
  const end = start.plus({ [`${unit}s`]: 1 });
  return { id: `${spec}:${timeZone}:${start.toMillis()}`, startMs: start.toMillis(), endMs: end.toMillis() };
}

/** Whole seconds until the window ends (at least 1): a Retry-After value. */
export function secondsUntilEnd(slot: WindowSlot, nowMs: number): number {
  return Math.max(1, Math.ceil((slot.endMs - nowMs) / 1000));
}

export function isValidTimeZone(zone: string): boolean {
  return DateTime.now().setZone(zone).isValid;
}
