import { isSupportedCountry } from 'libphonenumber-js/max';
import { z } from 'zod';
import { checkLinearSafe } from './custom-patterns';

export const ACTIONS = ['block', 'redact', 'pseudonymize', 'log_only'] as const;
export type Action = (typeof ACTIONS)[number];

const actionField = (fallback: Action) =>
  z
    .enum(ACTIONS)
    .default(fallback)
    .describe('What to do with a match: block (400, types only), redact ([TYPE] label), pseudonymize (<TYPE_n>, restored in the answer) or log_only.');

const enabledField = z.boolean().default(true).describe('Whether this detector runs on the scanned parts of requests (and answers, when output scanning is on).');

/** A detector's settings: on/off and its own action, plus any extra fields it needs. */
function detector<E extends z.ZodRawShape>(fallback: Action, description: string, extra: E) {
  const shape = z.object({ enabled: enabledField, action: actionField(fallback), ...extra });
  // every field has a default, which TypeScript cannot see through the generic shape
  return shape.prefault({} as z.input<typeof shape>).describe(description);
}

const DEFAULT_EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net', 'example', 'test', 'invalid', 'localhost'];
/** RFC 5737 / RFC 3849 documentation ranges, loopback and the unspecified address never name a real host. */
const DEFAULT_IP_RANGES = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32', '127.0.0.0/8', '::1/128', '0.0.0.0/32'];

const customPattern = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,31}$/)
      .describe('Entity type name of this pattern (lower-case letters, digits, _); it is used in counts, headers and the [NAME] label.'),
    pattern: z
      .string()
      .min(1)
      .max(1000)
      .superRefine((source, ctx) => {
        const problem = checkLinearSafe(source);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .describe('JavaScript regular expression (no slashes). Must be linear-safe: no nested quantifiers, no quantified alternation, no backreferences.'),
    case_insensitive: z.boolean().default(false).describe('Match the pattern without regard to letter case (the i flag).'),
    action: actionField('redact'),
  })
  .describe('A named custom pattern, e.g. an internal customer or employee number format.');

export const piiGuardSchema = z.object({
  detectors: z
    .object({
      email: detector('pseudonymize', 'E-mail addresses (including internationalised local parts and domains).', {}),
      phone: detector('pseudonymize', 'Phone numbers in international (+CC) and national formats, validated with libphonenumber metadata.', {
        default_regions: z
          .array(
            z
              .string()
              .length(2)
              .refine((c) => isSupportedCountry(c), { message: 'not a region libphonenumber knows (ISO 3166-1 alpha-2)' }),
          )
          .max(8)
          .default(['US'])
          .describe('Regions (ISO 3166-1 alpha-2) whose national formats are recognised; international +CC numbers are always found.'),
      }),
      credit_card: detector('redact', 'Payment card numbers: known network prefixes and a valid Luhn check digit.', {}),
      iban: detector('redact', 'International bank account numbers: the country\'s length and a valid mod-97 check.', {}),
      us_ssn: detector('redact', 'US social security numbers in valid ranges (no 000/666/9xx area, 00 group, 0000 serial).', {}),
      ip_address: detector('pseudonymize', 'IPv4 and IPv6 addresses (valid octets and groups); ranges in allow.ip_ranges are ignored.', {}),
      secret: detector('block', 'API keys and credentials: cloud/SaaS key formats, JWTs, PEM private keys, high-entropy values of key/secret/token/password names.', {
        entropy_threshold: z
          .number()
          .min(2)
          .max(6)
          .default(3.5)
          .describe('Shannon entropy (bits per character) above which a value assigned to a key/secret/token name counts as a secret.'),
        min_length: z
          .number()
          .int()
          .min(8)
          .max(128)
          .default(16)
          .describe('Shortest value assigned to a key/secret/token name that can count as a secret (passwords: 6 characters).'),
      }),
      crypto_wallet: detector('redact', 'Crypto wallet addresses: Bitcoin base58check and bech32/bech32m (checksums verified), Ethereum 0x + 40 hex.', {}),
    })
    .prefault({})
    .describe('The built-in detectors, each with an on/off switch and its own action.'),
  custom_patterns: z
    .array(customPattern)
    .max(32)
    .default([])
    .superRefine((patterns, ctx) => {
      const seen = new Set<string>();
      patterns.forEach((p, i) => {
        if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate custom pattern name ${p.name}` });
        seen.add(p.name);
      });
    })
    .describe('Named regular expressions of the organisation\'s own identifiers, checked for linear-time safety when the config is loaded.'),
  allow: z
    .object({
      values: z
        .array(z.string().min(1).max(512))
        .max(1000)
        .default([])
        .describe('Exact values never treated as PII (compared case-insensitively), e.g. the company\'s support address or hotline.'),
      email_domains: z
        .array(z.string().min(1).max(253))
        .max(1000)
        .default(DEFAULT_EMAIL_DOMAINS)
        .describe('E-mail domains (and their sub-domains) never treated as PII. Defaults: RFC 2606 example and reserved names.'),
      ip_ranges: z
        .array(z.string().min(2).max(64))
        .max(1000)
        .default(DEFAULT_IP_RANGES)
        .describe('CIDR ranges never treated as PII. Defaults: RFC 5737 and RFC 3849 documentation ranges, loopback, 0.0.0.0.'),
    })
    .prefault({})
    .describe('Values that are never treated as PII or secrets.'),
  scope: z
    .object({
      system: z.boolean().default(true).describe('Scan system messages (their string content and text parts).'),
      developer: z.boolean().default(true).describe('Scan developer messages (their string content and text parts).'),
      user: z.boolean().default(true).describe('Scan user messages, including the text parts of multimodal content.'),
      assistant: z.boolean().default(true).describe('Scan assistant messages of the conversation history.'),
      tool: z.boolean().default(true).describe('Scan tool (and legacy function) result messages.'),
      tool_call_arguments: z.boolean().default(true).describe('Scan the JSON arguments of tool calls in the assistant history (string values).'),
      embeddings_input: z.boolean().default(true).describe('Scan the input texts of embeddings requests (pseudonymize acts as redact there).'),
    })
    .prefault({})
    .describe('Which roles and parts of a request are scanned.'),
  output: z
    .object({
      enabled: z.boolean().default(false).describe('Also scan the model\'s answers (content and tool-call arguments) for PII the model produced itself.'),
      action: z
        .enum(['redact', 'block'])
        .default('redact')
        .describe('redact replaces matches with [TYPE] labels; block withholds the answer (finish_reason content_filter).'),
    })
    .prefault({})
    .describe('Scanning of model output, with the same detectors and allow-lists as requests.'),
  fail_mode: z
    .enum(['closed', 'open'])
    .default('closed')
    .describe('If scanning fails or exceeds scan_timeout_ms: closed refuses the request (503), open forwards it unchanged (counted, logged).'),
  scan_timeout_ms: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(200)
    .describe('Time budget for scanning one request, in milliseconds of wall time; exceeding it is a scan failure (see fail_mode).'),
  response_header: z
    .boolean()
    .default(true)
    .describe('Add X-LLM-PII with entity types and counts (never values) to the client\'s answer, e.g. email=2;phone=1.'),
});

export type PiiGuardConfig = z.infer<typeof piiGuardSchema>;
export type DetectorName = keyof PiiGuardConfig['detectors'];
