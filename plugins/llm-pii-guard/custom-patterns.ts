/**
 * Custom patterns run on every prompt, so a pattern that backtracks catastrophically would be a denial of service.
 * JavaScript has no linear-time regex engine built in; instead, patterns are checked when the config is loaded and
 * rejected when they contain a construct that can backtrack super-linearly:
 * - a repeated group (`*`, `+`, `{n,m}` with m > 1) whose body contains a variable quantifier or an alternation,
 *   e.g. `(a+)+`, `(\w+\s?)*`, `(a|ab)*` (the classic catastrophic shapes);
 * - backreferences (`\1`, `\k<name>`), which no linear engine supports;
 * - patterns that match the empty string.
 * Adjacent overlapping quantifiers (`\d+\d+`) are polynomial, not exponential; the scan time budget covers them.
 */

interface GroupFrame {
  variable: boolean;
  alternation: boolean;
}

interface Quantifier {
  length: number;
  min: number;
  max: number;
}

/** The quantifier starting at `i`, if any. */
function quantifierAt(source: string, i: number): Quantifier | undefined {
  const c = source[i];
  let q: Quantifier | undefined;
  if (c === '*') q = { length: 1, min: 0, max: Infinity };
  else if (c === '+') q = { length: 1, min: 1, max: Infinity };
  else if (c === '?') q = { length: 1, min: 0, max: 1 };
  else if (c === '{') {
    const m = /^\{(\d{1,6})(,(\d{0,6}))?\}/.exec(source.slice(i, i + 16));
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    q = { length: m[0].length, min, max };
  }
  if (q && source[i + q.length] === '?') q.length += 1; // lazy: same shape
  return q;
}

/** undefined when the pattern is accepted; otherwise the reason, fit for a config error message. */
export function checkLinearSafe(source: string): string | undefined {
  try {
    new RegExp(source);
  } catch {
    return 'not a valid JavaScript regular expression';
  }
  if (new RegExp(`^(?:${source})$`).test('')) return 'the pattern matches the empty string';
  const stack: GroupFrame[] = [{ variable: false, alternation: false }];
  let lastAtomGroup: GroupFrame | undefined;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') return 'backreferences are not allowed (they cannot run in linear time)';
      i += 1;
      lastAtomGroup = undefined;
      continue;
    }
    if (c === '[') {
      for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
      lastAtomGroup = undefined;
      continue;
    }
    if (c === '(') {
      stack.push({ variable: false, alternation: false });
      lastAtomGroup = undefined;
      // group syntax, not quantifiers: (?: (?= (?! (?<= (?<! (?<name>
      const prefix = /^\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>)/.exec(source.slice(i + 1, i + 40));
      if (prefix) i += prefix[0].length;
      continue;
    }
    if (c === ')') {
      const frame = stack.pop()!;
      const parent = stack[stack.length - 1];
      parent.variable ||= frame.variable;
      lastAtomGroup = frame;
      continue;
    }
    const top = stack[stack.length - 1];
    if (c === '|') {
      top.alternation = true;
      lastAtomGroup = undefined;
      continue;
    }
    const q = quantifierAt(source, i);
    if (q) {
      if (lastAtomGroup && q.max > 1 && (lastAtomGroup.variable || lastAtomGroup.alternation)) {
        return 'nested quantifier: a repeated group contains a variable quantifier or an alternation (catastrophic backtracking)';
      }
      if (q.min !== q.max) top.variable = true;
      i += q.length - 1;
      lastAtomGroup = undefined;
      continue;
    }
    lastAtomGroup = undefined;
  }
  return undefined;
}

export interface CompiledCustomPattern {
  name: string;
  regex: RegExp;
}

export function compileCustomPattern(name: string, source: string, caseInsensitive: boolean): CompiledCustomPattern {
  return { name, regex: new RegExp(source, caseInsensitive ? 'gi' : 'g') };
}
