import type { Finding } from './scanner';

/** What the plugin adds to the usage event under `pii`: counts only, never values. */
export interface PiiReport {
  /** In the limiting plugins' vocabulary, for the metrics' policy-decision counter. */
  decision: 'allowed' | 'rejected' | 'scan_failed_open' | 'scan_failed_closed';
  /** Findings per entity type in the request. */
  detected: Record<string, number>;
  /** Findings per action taken (block, redact, pseudonymize, log_only). */
  actions: Record<string, number>;
  /** Findings per entity type and action, e.g. {email: {pseudonymize: 2}}: the labels of a metrics counter. */
  by_type: Record<string, Record<string, number>>;
  /** Finer kinds (secret formats, card networks, IP versions) per count. */
  kinds: Record<string, number>;
  /** Matches ignored because of the allow-lists. */
  allowed: number;
  scan_ms: number;
  blocked: boolean;
  /** A scan that failed or ran out of time, and whether the request went on anyway (fail_mode open). */
  failure?: 'timeout' | 'error';
  failed_open?: boolean;
  /** Placeholders put back into the answer. */
  restored: number;
  /** Output scanning: the model's own PII per type, and whether the answer was withheld. */
  output?: { detected: Record<string, number>; action: 'redact' | 'block'; blocked: boolean };
}

export function newReport(): PiiReport {
  return { decision: 'allowed', detected: {}, actions: {}, by_type: {}, kinds: {}, allowed: 0, scan_ms: 0, blocked: false, restored: 0 };
}

export function countFindings(findings: Finding[], detected: Record<string, number>): void {
  for (const f of findings) detected[f.type] = (detected[f.type] ?? 0) + 1;
}

/** The request side's counts: per type, per action, per type and action, per kind. */
export function countRequestFindings(findings: Finding[], report: PiiReport): void {
  countFindings(findings, report.detected);
  for (const f of findings) {
    report.actions[f.action] = (report.actions[f.action] ?? 0) + 1;
    const perType = (report.by_type[f.type] ??= {});
    perType[f.action] = (perType[f.action] ?? 0) + 1;
    if (f.kind) report.kinds[f.kind] = (report.kinds[f.kind] ?? 0) + 1;
  }
}

/** `email=2;phone=1`: types and counts, for the X-LLM-PII header. */
export function headerValue(detected: Record<string, number>): string {
  return Object.entries(detected)
    .map(([type, n]) => `${type}=${n}`)
    .join(';');
}
