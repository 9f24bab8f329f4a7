import { isIPv6 } from 'node:net';
import { base58CheckAddressValid, bech32AddressValid, cardNetwork, ibanLength, ibanValid, luhnValid, ssnValid } from './validators';

/**
 * The pattern detectors. Every regular expression here runs in linear time: candidates start only at a boundary
 * (a look-behind rejects starts inside a run of the same characters), repetitions are bounded or over one character
 * class, and no repeated group has an ambiguous body. Validation (checksums, ranges) happens in code afterwards.
 */
export interface RawMatch {
  start: number;
  end: number;
  /** A finer kind for counting, e.g. the card network or the secret's format. */
  kind?: string;
}

export type Detect = (text: string) => RawMatch[];

/** Every match of a global regex, with a guard against empty matches. */
export function* matches(regex: RegExp, text: string): Generator<RegExpExecArray> {
  regex.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = regex.exec(text)) !== null) {
    if (m[0].length === 0) regex.lastIndex++;
    yield m;
  }
}

const LOCAL_PART_CHAR = /[\p{L}\p{N}._%+\-]/u;
const DOMAIN = /(?:[\p{L}\p{N}\-]{1,63}\.){1,8}\p{L}{2,24}(?![\p{L}\p{N}\-])/uy;
const MAX_LOCAL_PART = 64;

/** From each `@`: the local part backwards (at most 64 characters), the domain forwards with a sticky regex. */
export const detectEmail: Detect = (text) => {
  const out: RawMatch[] = [];
  for (let at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > 0 && at - start <= MAX_LOCAL_PART && LOCAL_PART_CHAR.test(text[start - 1])) start--;
    if (start === at || at - start > MAX_LOCAL_PART) continue;
    if (text[start] === '.' || text[at - 1] === '.' || text.slice(start, at).includes('..')) continue;
    if (text.slice(Math.max(0, start - 3), start) === '://') continue; // user@host of a URL, not an address
    DOMAIN.lastIndex = at + 1;
    const domain = DOMAIN.exec(text);
    if (!domain) continue;
    out.push({ start, end: at + 1 + domain[0].length });
  }
  return out;
};

/** The domain of an e-mail match (for the allow-list). */
export function emailDomain(value: string): string {
  return value.slice(value.lastIndexOf('@') + 1).toLowerCase();
}

/** A run of digits with single spaces or dashes between groups. */
const CARD_RUN = /(?<![A-Za-z0-9_\-])\d[\d \-]{10,40}\d(?!\d)/g;

export const detectCreditCard: Detect = (text) => {
  const out: RawMatch[] = [];
  for (const m of matches(CARD_RUN, text)) {
    const groups: { digits: string; start: number; end: number }[] = [];
    for (const g of matches(/\d+/g, m[0])) groups.push({ digits: g[0], start: m.index + g.index, end: m.index + g.index + g[0].length });
    // a card is one unbroken run of 12–19 digits or groups of 3–6 digits (4-4-4-4, 4-6-5, 4-4-4-4-3)
    for (let s = 0; s < groups.length; s++) {
      const first = groups[s].digits;
      if (first.length >= 12) {
        const network = cardNetwork(first);
        if (first.length <= 19 && network && luhnValid(first)) out.push({ start: groups[s].start, end: groups[s].end, kind: network });
        continue;
      }
      if (s > 0 && groups[s - 1].digits.length >= 3 && groups[s - 1].digits.length <= 6) continue; // inside a longer grouped number
      let digits = '';
      let found: { e: number; network: string } | undefined;
      for (let e = s; e < groups.length && groups[e].digits.length >= 3 && groups[e].digits.length <= 6; e++) {
        digits += groups[e].digits;
        if (digits.length > 19) break;
        const network = digits.length >= 12 ? cardNetwork(digits) : undefined;
        if (network && luhnValid(digits)) found = { e, network };
      }
      if (!found) continue;
      out.push({ start: groups[s].start, end: groups[found.e].end, kind: found.network });
      s = found.e;
    }
  }
  return out;
};

const IBAN_RUN = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,34}/g;

export const detectIban: Detect = (text) => {
  const out: RawMatch[] = [];
  for (const m of matches(IBAN_RUN, text)) {
    const expected = ibanLength(m[0].slice(0, 2));
    if (!expected) continue;
    let compact = '';
    let end = 0;
    for (let i = 0; i < m[0].length && compact.length < expected; i++) {
      if (m[0][i] !== ' ') compact += m[0][i];
      end = i + 1;
    }
    if (compact.length !== expected || !ibanValid(compact)) continue;
    const after = text[m.index + end];
    if (after !== undefined && /[A-Za-z0-9]/.test(after) && text[m.index + end - 1] !== ' ') continue;
    out.push({ start: m.index, end: m.index + end, kind: compact.slice(0, 2) });
  }
  return out;
};

const SSN_FORMATTED = /(?<![\d\-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d\-])/g;
const SSN_PLAIN = /(?<!\d)\d{9}(?!\d)/g;
const SSN_CONTEXT = /(?:ssn|social security|soc\.? ?sec)/i;

export const detectUsSsn: Detect = (text) => {
  const out: RawMatch[] = [];
  for (const m of matches(SSN_FORMATTED, text)) {
    if (m[2] === ' ' && !SSN_CONTEXT.test(text.slice(Math.max(0, m.index - 40), m.index))) continue;
    if (ssnValid(m[1], m[3], m[4])) out.push({ start: m.index, end: m.index + m[0].length });
  }
  for (const m of matches(SSN_PLAIN, text)) {
    // nine bare digits are an SSN only when the text says so just before
    if (!SSN_CONTEXT.test(text.slice(Math.max(0, m.index - 40), m.index))) continue;
    if (ssnValid(m[0].slice(0, 3), m[0].slice(3, 5), m[0].slice(5))) out.push({ start: m.index, end: m.index + 9 });
  }
  return out;
};

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`(?<![\\w.])${OCTET}(?:\\.${OCTET}){3}(?![\\w]|\\.\\d)`, 'g');
const VERSION_BEFORE = /(?:\bv|\bversion|\bver\.?)\s?$/i;
const IPV6_RUN = /(?<![\w:.])[0-9A-Fa-f]{0,4}::?[0-9A-Fa-f:.]{1,45}/g;

export const detectIpAddress: Detect = (text) => {
  const out: RawMatch[] = [];
  for (const m of matches(IPV4, text)) {
    if (VERSION_BEFORE.test(text.slice(Math.max(0, m.index - 10), m.index))) continue;
    out.push({ start: m.index, end: m.index + m[0].length, kind: 'ipv4' });
  }
  for (const m of matches(IPV6_RUN, text)) {
    let candidate = m[0];
    while (candidate.length > 0 && /[:.]/.test(candidate[candidate.length - 1]) && !candidate.endsWith('::')) candidate = candidate.slice(0, -1);
    const end = m.index + candidate.length;
    if (/[\w]/.test(text[end] ?? '') || !/\d/.test(candidate) || !isIPv6(candidate)) continue;
    out.push({ start: m.index, end, kind: 'ipv6' });
  }
  return out;
};

const BTC_BASE58 = /(?<![A-Za-z0-9])[13mn2][1-9A-HJ-NP-Za-km-z]{25,34}(?![A-Za-z0-9])/g;
const BTC_BECH32 = /(?<![A-Za-z0-9])(?:bc1|tb1|BC1|TB1)[02-9ac-hj-np-zAC-HJ-NP-Z]{11,71}(?![A-Za-z0-9])/g;
const ETH = /(?<![A-Za-z0-9])0x[0-9a-fA-F]{40}(?![A-Za-z0-9])/g;

export const detectCryptoWallet: Detect = (text) => {
  const out: RawMatch[] = [];
  for (const m of matches(BTC_BASE58, text)) {
    if (base58CheckAddressValid(m[0])) out.push({ start: m.index, end: m.index + m[0].length, kind: 'btc' });
  }
  for (const m of matches(BTC_BECH32, text)) {
    if (bech32AddressValid(m[0])) out.push({ start: m.index, end: m.index + m[0].length, kind: 'btc' });
  }
  for (const m of matches(ETH, text)) out.push({ start: m.index, end: m.index + m[0].length, kind: 'eth' });
  return out;
};

