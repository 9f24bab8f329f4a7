import { checkLinearSafe } from '../../plugins/llm-pii-guard/custom-patterns';
import { Scanner } from '../../plugins/llm-pii-guard/scanner';
import { piiGuardSchema } from '../../plugins/llm-pii-guard/schema';
import { base58CheckAddressValid, bech32AddressValid, cardNetwork, ibanValid, luhnValid, shannonEntropy, ssnValid } from '../../plugins/llm-pii-guard/validators';
import { kongSchemaFor } from '../../plugins/runtime/config/zod-to-kong';
import { llmPiiGuard } from '../../plugins/llm-pii-guard';
import { configOf } from './helpers';

const found = (scanner: Scanner, text: string) => scanner.scan(text).findings.map((f) => `${f.type}:${f.value}`);

describe('validators', () => {
  it('Luhn and card networks', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(cardNetwork('378282246310005')).toBe('amex');
    expect(cardNetwork('2223003122003222')).toBe('mastercard');
    expect(cardNetwork('9999888877776666')).toBeUndefined();
  });
  it('IBAN length per country and mod-97', () => {
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE89370400440532013001')).toBe(false);
    expect(ibanValid('DE8937040044053201300')).toBe(false); // one short
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
  });
  it('SSN ranges: no 000/666/9xx area, 00 group, 0000 serial', () => {
    expect(ssnValid('123', '45', '6789')).toBe(true);
    for (const [a, g, s] of [['000', '12', '3456'], ['666', '12', '3456'], ['912', '12', '3456'], ['123', '00', '4567'], ['123', '45', '0000']]) {
      expect(ssnValid(a, g, s)).toBe(false);
    }
  });
  it('Bitcoin checksums: base58check and bech32/bech32m', () => {
    expect(base58CheckAddressValid('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa')).toBe(true);
    expect(base58CheckAddressValid('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb')).toBe(false);
    expect(bech32AddressValid('bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq')).toBe(true);
    expect(bech32AddressValid('bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr')).toBe(false);
    expect(bech32AddressValid('bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297')).toBe(true);
  });
  it('Shannon entropy in bits per character', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
  });
});

describe('detectors', () => {
  const scanner = new Scanner(configOf({ detectors: { phone: { default_regions: ['US', 'DE'] } } }));

  it('finds each type with its exact span', () => {
    expect(found(scanner, 'mail jane.roe@acme.io, call +49 30 901820 or (415) 555-2671.')).toEqual([
      'email:jane.roe@acme.io',
      'phone:+49 30 901820',
      'phone:(415) 555-2671',
    ]);
    expect(found(scanner, 'card 4111-1111-1111-1111 exp 09/27, IBAN DE89 3704 0044 0532 0130 00 ok')).toEqual([
      'credit_card:4111-1111-1111-1111',
      'iban:DE89 3704 0044 0532 0130 00',
    ]);
  });

  it('hard negatives: versions, UUIDs, non-Luhn numbers, dates, hashes, epoch times', () => {
    const text =
      'v1.2.3.4 version 10.0.0.1 uuid 123e4567-e89b-12d3-a456-426614174000 ref 4111111111111112 on 2024-06-01 12:30:00 ' +
      'sha 9fceb02d0ae598e95dc970b74767f19372d61af8 ts 1714564860123 order 1000234567 EAN 4006381333931 ::1 std::vector';
    expect(found(scanner, text)).toEqual([]);
  });

  it('secrets: provider keys, JWTs, PEM blocks (also truncated), password and high-entropy assignments', () => {
    const jwt = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from('{"sub":"1"}').toString('base64url')}.c2lnbmF0dXJlX2J5dGVz`;
    const truncatedPem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7';
    const kinds = (text: string) => scanner.scan(text).findings.map((f) => f.kind);
    expect(kinds(`token: ${jwt}`)).toEqual(['jwt']);
    expect(kinds(`${truncatedPem}\n\nWhat is wrong?`)).toEqual(['private_key']);
    expect(scanner.scan(`${truncatedPem}\n\nWhat is wrong?`).findings[0].value).toBe(truncatedPem);
    expect(kinds('db_password = "Tr0ub4dor&3"')).toEqual(['password']);
    expect(kinds('CLIENT_SECRET=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA')).toEqual(['high_entropy_value']);
    expect(kinds('password: string; api_key = os.environ["KEY"]; token = ${TOKEN}; secret: <your secret>')).toEqual([]);
    expect(kinds('AKIAIOSFODNN7EXAMPLE then wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).toEqual(['aws_access_key_id', 'aws_secret_access_key']);
    expect(kinds('pip install scikit-learn; sk-learn is not a key')).toEqual([]);
  });

  it('allow-lists: exact values, e-mail domains with sub-domains, documentation IP ranges', () => {
    const s = new Scanner(configOf({ allow: { values: ['help@acme.io', '+1 800 555 0199'] } }));
    expect(found(s, 'write help@acme.io or HELP@ACME.IO, call +1-800-555-0199, see a@example.com, b@mail.example.org')).toEqual([]);
    expect(found(s, 'hosts 192.0.2.10, 203.0.113.5, 2001:db8::1 and 127.0.0.1; real 8.8.8.8')).toEqual(['ip_address:8.8.8.8']);
    expect(s.scan('doc 198.51.100.7').allowed).toBe(1);
  });

  it('disabled detectors do not run; each finding carries its detector\'s action', () => {
    const s = new Scanner(configOf({ detectors: { email: { enabled: false }, phone: { action: 'log_only' } } }));
    const r = s.scan('jane@acme.io +44 20 7946 0958');
    expect(r.findings.map((f) => [f.type, f.action])).toEqual([['phone', 'log_only']]);
  });

  it('custom patterns from config', () => {
    const s = new Scanner(configOf({ custom_patterns: [{ name: 'employee_id', pattern: 'EMP-\\d{6}', action: 'block' }] }));
    expect(s.scan('ask EMP-004821 about it').findings.map((f) => [f.type, f.value, f.action])).toEqual([['employee_id', 'EMP-004821', 'block']]);
  });
});

describe('custom pattern safety (checked when the config is loaded)', () => {
  it.each(['(a+)+$', '(\\w+\\s?)*x', '(a|ab)*c', '(x\\d{1,3})+', '(a)\\1', '(?<q>a)\\k<q>', 'a*'])('rejects %s', (pattern) => {
    expect(checkLinearSafe(pattern)).toBeDefined();
    expect(piiGuardSchema.safeParse({ custom_patterns: [{ name: 'x', pattern }] }).success).toBe(false);
  });
  it.each(['EMP-\\d{6}', '[A-Z]{2}\\d{8}', '(?:ACME|CTSO)-\\d{4}', '(?:\\d{3}-){2}\\d{4}', 'case #\\d+'])('accepts %s', (pattern) => {
    expect(checkLinearSafe(pattern)).toBeUndefined();
  });
  it('rejects an invalid regex and duplicate names, naming the field', () => {
    const bad = piiGuardSchema.safeParse({ custom_patterns: [{ name: 'a', pattern: '(' }, { name: 'b', pattern: 'x' }, { name: 'b', pattern: 'y' }] });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['custom_patterns.0.pattern', 'custom_patterns.2.name']));
  });
});

describe('config schema', () => {
  it('converts to a Kong schema with a description on every field', () => {
    const schema = kongSchemaFor(llmPiiGuard);
    const walk = (fields: Record<string, { description?: string; fields?: unknown[]; elements?: { fields?: unknown[] } }>[], path: string[]): void => {
      for (const entry of fields) {
        for (const [name, field] of Object.entries(entry)) {
          expect({ path: [...path, name].join('.'), ok: (field.description?.length ?? 0) >= 10 && (field.description?.length ?? 0) <= 500 }).toEqual({
            path: [...path, name].join('.'),
            ok: true,
          });
          if (field.fields) walk(field.fields as never, [...path, name]);
          if (field.elements?.fields) walk(field.elements.fields as never, [...path, name, '[]']);
        }
      }
    };
    walk(schema.fields[0].config.fields as never, []);
  });
  it('defaults: every detector on, secrets block, fail closed', () => {
    const c = configOf();
    expect(Object.values(c.detectors).every((d) => d.enabled)).toBe(true);
    expect(c.detectors.secret.action).toBe('block');
    expect(c.fail_mode).toBe('closed');
    expect(() => configOf({ detectors: { phone: { default_regions: ['ZZ'] } } })).toThrow();
  });
});
