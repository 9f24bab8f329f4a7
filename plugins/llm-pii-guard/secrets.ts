import type { Detect, RawMatch } from './detectors';
import { matches } from './detectors';
import { jwtHeaderValid, shannonEntropy } from './validators';

interface TokenFormat {
  kind: string;
  regex: RegExp;
  accept?: (value: string) => boolean;
}

const hasLetterAndDigit = (v: string) => /\d/.test(v) && /[A-Za-z]/.test(v);

/** Published credential formats. Each starts at a boundary and has bounded repetitions. */
const TOKEN_FORMATS: TokenFormat[] = [
  { kind: 'aws_access_key_id', regex: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])/g },
  { kind: 'anthropic_api_key', regex: /(?<![\w-])sk-ant-[A-Za-z0-9_\-]{20,250}/g, accept: hasLetterAndDigit },
  { kind: 'openai_api_key', regex: /(?<![\w-])sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,250}/g, accept: hasLetterAndDigit },
  { kind: 'google_api_key', regex: /(?<![\w-])AIza[0-9A-Za-z_\-]{35}(?![\w-])/g },
  { kind: 'github_token', regex: /(?<![\w-])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?![\w-])/g },
  { kind: 'gitlab_token', regex: /(?<![\w-])glpat-[A-Za-z0-9_\-]{20,64}(?![\w-])/g },
  { kind: 'slack_token', regex: /(?<![\w-])xox[baprs]-[A-Za-z0-9\-]{10,250}/g, accept: hasLetterAndDigit },
  {
    kind: 'jwt',
    regex: /(?<![\w-])eyJ[A-Za-z0-9_\-]{12,4000}\.[A-Za-z0-9_\-]{2,8000}\.[A-Za-z0-9_\-]{0,4000}/g,
    accept: (v) => jwtHeaderValid(v.slice(0, v.indexOf('.'))),
  },
];

const AWS_SECRET = /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;
const AWS_SECRET_CONTEXT = /(?:secret|aws)/i;
const AWS_NEARBY = 300;

/** PEM private keys; an unterminated block (a truncated paste) is taken up to the end of its base64 body. */
const PEM_BEGIN = /-----BEGIN (?:[A-Z0-9]{1,12} ){0,3}PRIVATE KEY( BLOCK)?-----/g;
const PEM_END = /-----END (?:[A-Z0-9]{1,12} ){0,3}PRIVATE KEY( BLOCK)?-----/g;
const PEM_BODY = /(?:\r?\n|\\n)?(?:[ \t]{0,8}[A-Za-z0-9+/=]{1,128}[ \t]{0,8}(?:\r?\n|\\n)){0,600}[A-Za-z0-9+/=]{0,128}/y;

function detectPem(text: string): RawMatch[] {
  const out: RawMatch[] = [];
  let from = 0;
  let noEndAfter = Infinity;
  PEM_BEGIN.lastIndex = 0;
  for (;;) {
    PEM_BEGIN.lastIndex = from;
    const begin = PEM_BEGIN.exec(text);
    if (!begin) break;
    const bodyStart = begin.index + begin[0].length;
    let end: number | undefined;
    if (bodyStart < noEndAfter) {
      PEM_END.lastIndex = bodyStart;
      const close = PEM_END.exec(text);
      if (close) end = close.index + close[0].length;
      else noEndAfter = bodyStart; // no END later either: later BEGINs need not search again (linear)
    }
    if (end === undefined) {
      PEM_BODY.lastIndex = bodyStart;
      const body = PEM_BODY.exec(text);
      end = bodyStart + (body ? body[0].trimEnd().length : 0);
    }
    out.push({ start: begin.index, end, kind: 'private_key' });
    from = end;
  }
  return out;
}

const BEARER = /(?<![\w-])Bearer\s{1,4}([A-Za-z0-9._~+/\-]{16,1000}=*)/g;
/** Words in a name that say its value is a credential. */
const KEYWORD = /key|secret|token|passw|pwd|credential|auth/gi;
const PASSWORD_NAME = /passw|pwd|^pass$/i;
const IDENT_CHAR = /[A-Za-z0-9_.\-]/;
const ASSIGN = /["']?[ \t]{0,8}(?::=|=>|[:=])[ \t]{0,8}(["'`]?)/y;
const BARE_VALUE = /[^\s"'`,;)}\]]{1,300}/y;
/** Values that are obviously not secrets: references, types, masks, placeholders. */
const NOT_A_VALUE = /^(?:null|none|nil|true|false|undefined|string|str|int|number|bool|boolean|bytes|optional|required|changeme|change_me|password|secret|token|redacted|hidden|xxx+|\*+|\.+|-+|_+)$/i;
const REFERENCE = /[$%{}<>()[\]]|^(?:process\.env|os\.environ|env\.|self\.|this\.|config\.|settings\.)/;

function isPlaceholderValue(value: string): boolean {
  return NOT_A_VALUE.test(value) || REFERENCE.test(value) || /^(?:your|my|<|\[|example|dummy|test|fake|sample)[_-]?/i.test(value);
}

export interface SecretOptions {
  entropyThreshold: number;
  minLength: number;
}

function detectAssignments(text: string, opts: SecretOptions): RawMatch[] {
  const out: RawMatch[] = [];
  KEYWORD.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = KEYWORD.exec(text)) !== null) {
    let s = m.index;
    while (s > 0 && m.index - s < 64 && IDENT_CHAR.test(text[s - 1])) s--;
    let e = m.index + m[0].length;
    while (e < text.length && e - m.index < 64 && IDENT_CHAR.test(text[e])) e++;
    KEYWORD.lastIndex = e; // one look per name (and, below, none inside a value: linear)
    ASSIGN.lastIndex = e;
    const assign = ASSIGN.exec(text);
    if (!assign) continue;
    const valueStart = e + assign[0].length;
    let value: string;
    if (assign[1]) {
      const close = text.indexOf(assign[1], valueStart);
      if (close < 0 || close - valueStart > 300) continue;
      value = text.slice(valueStart, close);
      if (value.includes('\n')) continue;
    } else {
      BARE_VALUE.lastIndex = valueStart;
      const bare = BARE_VALUE.exec(text);
      if (!bare) continue;
      value = bare[0];
    }
    KEYWORD.lastIndex = valueStart + value.length;
    const name = text.slice(s, e);
    if (isPlaceholderValue(value)) continue;
    const isPassword = PASSWORD_NAME.test(name.replace(/^.*[_.\-]/, '')) || /passw|pwd/i.test(name);
    const accepted = isPassword
      ? value.length >= 6
      : value.length >= opts.minLength && shannonEntropy(value) >= opts.entropyThreshold;
    if (accepted) out.push({ start: valueStart, end: valueStart + value.length, kind: isPassword ? 'password' : 'high_entropy_value' });
  }
  return out;
}

export function secretDetector(opts: SecretOptions): Detect {
  return (text) => {
    const out: RawMatch[] = [];
    const awsKeyPositions: number[] = [];
    for (const format of TOKEN_FORMATS) {
      for (const m of matches(format.regex, text)) {
        if (format.accept && !format.accept(m[0])) {
          // a JWT may start inside a rejected candidate's later parts: look again from its first dot
          if (format.kind === 'jwt') format.regex.lastIndex = m.index + m[0].indexOf('.') + 1;
          continue;
        }
        out.push({ start: m.index, end: m.index + m[0].length, kind: format.kind });
        if (format.kind === 'aws_access_key_id') awsKeyPositions.push(m.index);
      }
    }
    for (const m of matches(AWS_SECRET, text)) {
      const nearKey = awsKeyPositions.some((p) => Math.abs(p - m.index) <= AWS_NEARBY);
      const named = AWS_SECRET_CONTEXT.test(text.slice(Math.max(0, m.index - 40), m.index));
      const v = m[0];
      if ((nearKey || named) && /[A-Z]/.test(v) && /[a-z]/.test(v) && /\d/.test(v) && shannonEntropy(v) >= 4) {
        out.push({ start: m.index, end: m.index + v.length, kind: 'aws_secret_access_key' });
      }
    }
    out.push(...detectPem(text));
    for (const m of matches(BEARER, text)) {
      const token = m[1];
      if (shannonEntropy(token) < opts.entropyThreshold || isPlaceholderValue(token)) continue;
      const start = m.index + m[0].length - token.length;
      out.push({ start, end: start + token.length, kind: 'bearer_token' });
    }
    out.push(...detectAssignments(text, opts));
    return out;
  };
}
