import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { compileCustomPattern } from './custom-patterns';
import { detectCreditCard, detectCryptoWallet, detectEmail, detectIban, detectIpAddress, detectUsSsn, emailDomain, matches, type Detect } from './detectors';
import { phoneDetector } from './phone';
import type { Action, PiiGuardConfig } from './schema';
import { secretDetector } from './secrets';

/** One piece of PII or a secret in a text. `value` stays in memory for the request: never log it. */
export interface Finding {
  type: string;
  start: number;
  end: number;
  action: Action;
  kind?: string;
  value: string;
}

export interface ScanResult {
  findings: Finding[];
  /** Matches dropped by the allow-lists. */
  allowed: number;
}

const ALLOWED = '\u0000allowed';

export class ScanTimeout extends Error {
  constructor() {
    super('PII scan exceeded its time budget');
    this.name = 'ScanTimeout';
  }
}

/** A point in time (performance.now() scale) after which a scan gives up between two detectors. */
export interface Deadline {
  at: number;
}

interface ActiveDetector {
  type: string;
  action: Action;
  detect: Detect;
}

/** The label of an entity type in redactions and placeholders: EMAIL, CREDIT_CARD, … */
export function labelOf(type: string): string {
  return type.toUpperCase();
}

/** The form of a value used to recognise it again: case and separators do not make another value. */
export function normalizedValue(type: string, value: string): string {
  if (type === 'phone' || type === 'credit_card' || type === 'us_ssn') return value.replace(/\D/g, '');
  if (type === 'iban') return value.replace(/\s/g, '').toUpperCase();
  return value.toLowerCase();
}

/**
 * Runs the enabled detectors over a text. Detectors earlier in the list win overlaps (a key inside a URL is a secret,
 * not a phone number): secrets, custom patterns, IBANs, cards, SSNs, e-mails, wallets, IP addresses, phones.
 */
export class Scanner {
  private readonly detectors: ActiveDetector[] = [];
  private readonly allowValues: Set<string>;
  private readonly allowEmailDomains: string[];
  private readonly allowIps = new BlockList();

  constructor(config: PiiGuardConfig) {
    const d = config.detectors;
    const add = (type: string, settings: { enabled: boolean; action: Action }, detect: Detect) => {
      if (settings.enabled) this.detectors.push({ type, action: settings.action, detect });
    };
    add('secret', d.secret, secretDetector({ entropyThreshold: d.secret.entropy_threshold, minLength: d.secret.min_length }));
    for (const custom of config.custom_patterns) {
      const { regex } = compileCustomPattern(custom.name, custom.pattern, custom.case_insensitive);
      add(custom.name, { enabled: true, action: custom.action }, (text) =>
        [...matches(regex, text)].filter((m) => m[0].length > 0).map((m) => ({ start: m.index, end: m.index + m[0].length })),
      );
    }
    add('iban', d.iban, detectIban);
    add('credit_card', d.credit_card, detectCreditCard);
    add('us_ssn', d.us_ssn, detectUsSsn);
    add('email', d.email, detectEmail);
    add('crypto_wallet', d.crypto_wallet, detectCryptoWallet);
    add('ip_address', d.ip_address, detectIpAddress);
    add('phone', d.phone, phoneDetector(d.phone.default_regions));
    this.allowValues = new Set(config.allow.values.flatMap((v) => [v.toLowerCase(), v.replace(/\D/g, '')]).filter((v) => v.length > 0));
    this.allowEmailDomains = config.allow.email_domains.map((x) => x.toLowerCase().replace(/^\.+/, ''));
    for (const range of config.allow.ip_ranges) {
      const [net, bits] = range.split('/');
      const family = isIPv4(net) ? 'ipv4' : isIPv6(net) ? 'ipv6' : undefined;
      if (!family) continue;
      const prefix = bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits);
      this.allowIps.addSubnet(net, prefix, family);
    }
  }

  get enabledTypes(): string[] {
    return this.detectors.map((d) => d.type);
  }

  scan(text: string, deadline?: Deadline): ScanResult {
    const candidates: Finding[] = [];
    this.detectors.forEach((detector) => {
      if (deadline && performance.now() > deadline.at) throw new ScanTimeout();
      for (const m of detector.detect(text)) {
        const value = text.slice(m.start, m.end);
        // an allowed match still occupies its text: a documentation IP address is not a phone number either
        const type = this.isAllowed(detector.type, value, m.kind) ? ALLOWED : detector.type;
        candidates.push({ type, start: m.start, end: m.end, action: detector.action, kind: m.kind, value });
      }
    });
    if (deadline && performance.now() > deadline.at) throw new ScanTimeout();
    const kept = withoutOverlaps(candidates);
    const findings = kept.filter((f) => f.type !== ALLOWED);
    return { findings, allowed: kept.length - findings.length };
  }

  private isAllowed(type: string, value: string, kind?: string): boolean {
    const lower = value.toLowerCase();
    if (this.allowValues.has(lower)) return true;
    if ((type === 'phone' || type === 'credit_card') && this.allowValues.has(value.replace(/\D/g, ''))) return true;
    if (type === 'email') {
      const domain = emailDomain(value);
      return this.allowEmailDomains.some((d) => domain === d || domain.endsWith(`.${d}`));
    }
    if (type === 'ip_address') return this.allowIps.check(value, kind === 'ipv6' ? 'ipv6' : 'ipv4');
    return false;
  }
}

/** Candidates arrive in detector priority order; a later one that overlaps an earlier one is dropped. */
function withoutOverlaps(candidates: Finding[]): Finding[] {
  const sorted: Finding[] = []; // kept, ordered by start, for the overlap look-up
  for (const c of candidates) {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid].start < c.start) lo = mid + 1;
      else hi = mid;
    }
    const before = sorted[lo - 1];
    const after = sorted[lo];
    if ((before && before.end > c.start) || (after && after.start < c.end)) continue;
    sorted.splice(lo, 0, c);
  }
  return sorted;
}
