import { readFileSync } from 'node:fs';

/** The machine's CPU time counters (jiffies) from /proc/stat: total and stolen by the hypervisor. */
export interface CpuTimes {
  total: number;
  steal: number;
}

/** undefined where /proc/stat is not readable (not Linux). */
export function cpuTimes(): CpuTimes | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already counted in user)
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return { total, steal: fields[7] ?? 0 };
  } catch {
    return undefined;
  }
}

/**
 * The share of CPU time the hypervisor gave to other guests between two readings, in percent. On a shared VM a
 * figure measured while this is high is slower than the code: the benchmark reports it beside the figures.
 */
export function stealPercent(from: CpuTimes | undefined, to: CpuTimes | undefined): number | null {
  if (!from || !to || to.total <= from.total) return null;
  return Math.round(((to.steal - from.steal) / (to.total - from.total)) * 1000) / 10;
}
