import { findPhoneNumbersInText, parsePhoneNumberFromString, type CountryCode, type PhoneNumber } from 'libphonenumber-js/max';
import type { Detect, RawMatch } from './detectors';
import { matches } from './detectors';

/**
 * Phone numbers are recognised and validated by libphonenumber (full metadata: number lengths and ranges per region).
 * Its text matcher is not linear on adversarial input (100 KB of `1-1-1-…` takes ~0.6 s), so it only ever sees short
 * candidates: maximal runs of phone characters, found here by one linear pass, of plausible length and digit count.
 *
 * Numbers are everywhere in prompts (order ids, EANs, epoch times), so a candidate must also look written as a phone:
 * - international (`+CC…`, `00CC…`): always;
 * - national: with a trunk prefix (`030 …`, `(0)…`) or in a NANP region (+1, no trunk prefix), and grouped with
 *   separators; a bare run of digits counts only after a phone word (tel, phone, mobile, Telefon, 電話…);
 * - never a date-like run (`2024-06-01`, `2024/00871`).
 */
const PHONE_RUN = /(?<![\p{L}\p{N}+_#\-./\\])(?:\+|\(\+?)?\d[\d \-.()\/\u00a0]{6,}/gu;
const MAX_RUN = 32;
const TRAILING_NON_DIGITS = /[^\d]+$/;
const DATE_LIKE = /^(?:(?:19|20)\d\d[-/.]\d|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$)/;
const PHONE_WORD = /(?:tel|phone|mobile|mobil|cell|fax|call|sms|whatsapp|contact|numéro|número|numero|telefon|téléphone|teléfono|telefono|電話|电话|手机|휴대폰|전화)\W{0,12}$/iu;

const NANP_REGIONS = new Set(['US', 'CA', 'PR', 'GU', 'VI', 'AS', 'MP', 'AG', 'AI', 'BB', 'BM', 'BS', 'DM', 'DO', 'GD', 'JM', 'KN', 'KY', 'LC', 'MS', 'SX', 'TC', 'TT', 'VC', 'VG']);

/** The run as one valid number, for the first region that accepts it (~20–70 µs per region with full metadata). */
function validNumber(run: string, regions: (CountryCode | undefined)[]): PhoneNumber | undefined {
  for (const region of regions) {
    const parsed = parsePhoneNumberFromString(run, region);
    if (parsed?.isValid()) return parsed;
  }
  return undefined;
}

export function phoneDetector(regions: string[]): Detect {
  const countries: (CountryCode | undefined)[] = regions.length > 0 ? (regions as CountryCode[]) : [undefined];
  const nanpRegions = countries.filter((r) => r && NANP_REGIONS.has(r));
  const trunkRegions = countries.filter((r) => !r || !NANP_REGIONS.has(r));
  const nanp = nanpRegions.length > 0;
  return (text) => {
    const out: RawMatch[] = [];
    const known = new Map<string, PhoneNumber | undefined>(); // the same number again in this text
    for (const m of matches(PHONE_RUN, text)) {
      const run = m[0].replace(TRAILING_NON_DIGITS, '');
      if (run.length > MAX_RUN || DATE_LIKE.test(run)) continue;
      const digits = run.replace(/\D/g, '');
      if (digits.length < 7 || digits.length > 15) continue;
      const after = text.slice(m.index + run.length, m.index + run.length + 2);
      if (/^[\p{L}\p{N}]|^:\d/u.test(after)) continue; // glued to a word, or a time of day
      const international = run.startsWith('+') || run.startsWith('(+') || digits.startsWith('00');
      const bare = /^\d+$/.test(run);
      const hasContext = PHONE_WORD.test(text.slice(Math.max(0, m.index - 30), m.index));
      if (bare && !international && !hasContext) continue;
      // national numbers need a trunk prefix, the NANP, or a phone word (see above)
      if (!international && !hasContext && !/^\(?0/.test(run) && !(nanp && (digits.length === 10 || (digits.length === 11 && digits.startsWith('1'))))) continue;
      // only the regions the number can belong to: none for +CC, trunk-prefix regions for 0…, NANP regions otherwise
      const candidatesRegions = international ? [undefined] : /^\(?0/.test(run) ? trunkRegions : hasContext ? countries : nanpRegions;
      let whole = known.get(run);
      if (!known.has(run)) {
        whole = validNumber(run, candidatesRegions);
        known.set(run, whole);
      }
      if (whole) {
        out.push({ start: m.index, end: m.index + run.length, kind: whole.country });
        continue;
      }
      // several numbers in one run ("030 123456 / 0151 2345678"): libphonenumber's matcher on this short run
      if (!/\/|\s{2}/.test(run)) continue;
      const seen = new Set<string>();
      for (const country of countries) {
        for (const found of findPhoneNumbersInText(run, country ? { defaultCountry: country } : undefined)) {
          const key = `${found.startsAt}:${found.endsAt}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.push({ start: m.index + found.startsAt, end: m.index + found.endsAt, kind: found.number.country });
        }
      }
    }
    return out;
  };
}
