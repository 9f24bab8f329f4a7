import { createHash } from 'node:crypto';

/** Luhn (mod 10) check over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Card networks by prefix and length (ISO/IEC 7812 issuer ranges in public use). */
export function cardNetwork(digits: string): string | undefined {
  const n = digits.length;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  const p6 = Number(digits.slice(0, 6));
  if (digits[0] === '4' && (n === 13 || n === 16 || n === 19)) return 'visa';
  if (n === 16 && ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))) return 'mastercard';
  if (n === 15 && (p2 === 34 || p2 === 37)) return 'amex';
  if (n >= 16 && n <= 19 && (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925))) return 'discover';
  if (n >= 16 && n <= 19 && p4 >= 3528 && p4 <= 3589) return 'jcb';
  if (n >= 14 && n <= 19 && ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39 || p4 === 3095)) return 'diners';
  if (n >= 16 && n <= 19 && p2 === 62) return 'unionpay';
  if (n >= 12 && n <= 19 && [5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763].includes(p4)) return 'maestro';
  if (n === 16 && p4 >= 2200 && p4 <= 2204) return 'mir';
  return undefined;
}

/** IBAN length per country (SWIFT IBAN registry). */
const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21, CR: 22,
  CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18, FR: 27, GB: 22,
  GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30,
  KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27,
  MT: 31, MU: 30, NI: 28, NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33,
  SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29,
  VA: 22, VG: 24, XK: 20, YE: 30,
};

export function ibanLength(country: string): number | undefined {
  return IBAN_LENGTHS[country];
}

/** ISO 13616 mod-97 check of a compact (no spaces) upper-case IBAN of the right length. */
export function ibanValid(compact: string): boolean {
  if (IBAN_LENGTHS[compact.slice(0, 2)] !== compact.length) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? code - 55 : code - 48;
    remainder = value >= 10 ? (remainder * 100 + value) % 97 : (remainder * 10 + value) % 97;
  }
  return remainder === 1;
}

/** US SSN ranges the SSA issues: area 001–899 but not 666, group 01–99, serial 0001–9999. */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  if (a === 0 || a === 666 || a >= 900) return false;
  if (group === '00' || serial === '0000') return false;
  return !(area === '078' && group === '05' && serial === '1120'); // the famous wallet-insert number
}

/** Reused by every call (scans are synchronous, so no two calls overlap). */
const ENTROPY_COUNTS = new Uint32Array(65536);

/** Shannon entropy in bits per character (per UTF-16 unit: close enough for the ASCII credentials it judges). */
export function shannonEntropy(value: string): number {
  const n = value.length;
  if (n === 0) return 0;
  const counts = ENTROPY_COUNTS;
  const seen: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (counts[c]++ === 0) seen.push(c);
  }
  let bits = 0;
  for (const c of seen) {
    const p = counts[c] / n;
    bits -= p * Math.log2(p);
    counts[c] = 0; // leave the shared table clean for the next call
  }
  return bits;
}

/** Whether the first part of a JWT decodes to a JSON header naming an algorithm. */
export function jwtHeaderValid(part: string): boolean {
  const text = Buffer.from(part, 'base64url').toString('utf8');
  if (!/^\s*\{[\s\S]*\}\s*$/.test(text)) return false; // most candidates end here, without a costly exception
  try {
    const header = JSON.parse(text);
    return typeof header === 'object' && header !== null && typeof header.alg === 'string';
  } catch {
    return false;
  }
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Bitcoin base58check address (P2PKH version 0 or P2SH version 5; testnet 111/196) with a valid checksum. */
export function base58CheckAddressValid(address: string): boolean {
  let value = 0n;
  for (const ch of address) {
    const digit = BASE58.indexOf(ch);
    if (digit < 0) return false;
    value = value * 58n + BigInt(digit);
  }
  const hex = value.toString(16);
  let bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  let leadingZeros = 0;
  while (address[leadingZeros] === '1') leadingZeros++;
  bytes = Buffer.concat([Buffer.alloc(leadingZeros), bytes]);
  if (bytes.length !== 25) return false;
  const payload = bytes.subarray(0, 21);
  if (![0, 5, 111, 196].includes(payload[0])) return false;
  return sha256(sha256(payload)).subarray(0, 4).equals(bytes.subarray(21));
}

const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32_GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function bech32Polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= BECH32_GENERATOR[i];
  }
  return chk >>> 0;
}

/** A segwit address (bech32 for v0, bech32m for v1+) with a valid checksum. */
export function bech32AddressValid(address: string): boolean {
  const lower = address.toLowerCase();
  if (lower !== address && address.toUpperCase() !== address) return false;
  const sep = lower.lastIndexOf('1');
  if (sep < 1 || lower.length - sep - 1 < 7) return false;
  const hrp = lower.slice(0, sep);
  const data: number[] = [];
  for (const ch of lower.slice(sep + 1)) {
    const v = BECH32.indexOf(ch);
    if (v < 0) return false;
    data.push(v);
  }
  const expanded = [...hrp].map((c) => c.charCodeAt(0) >> 5).concat([0], [...hrp].map((c) => c.charCodeAt(0) & 31));
  const check = bech32Polymod(expanded.concat(data));
  return data[0] === 0 ? check === 1 : check === 0x2bc830a3;
}
