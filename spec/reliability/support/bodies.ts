import fc from 'fast-check';
import type { ErrorFormat } from '../../../plugins/runtime/relay/api';

/** A marker put into generated request text: it must never come back in an error message. */
export const CANARY = 'CANARY-body-text-q8Zt';

export interface FuzzedApi {
  path: string;
  format: ErrorFormat;
  /** A request the provider mock accepts. */
  valid: Record<string, unknown>;
  /** Dotted paths of the fields the gateway or the provider read (numbers index arrays). */
  fields: string[];
}

const userTurn = { role: 'user', content: `hello ${CANARY}` };

export const APIS: FuzzedApi[] = [
  {
    path: '/v1/chat/completions',
    format: 'openai',
    valid: { model: 'gpt-4o-mini', messages: [userTurn], max_tokens: 16 },
    fields: [
      'model', 'messages', 'messages.0', 'messages.0.role', 'messages.0.content', 'messages.0.name', 'messages.0.tool_calls',
      'messages.0.tool_call_id', 'messages.1', 'stream', 'stream_options', 'stream_options.include_usage', 'max_tokens',
      'max_completion_tokens', 'temperature', 'top_p', 'n', 'stop', 'tools', 'tools.0', 'tools.0.function', 'tool_choice',
      'response_format', 'user', 'metadata', 'logit_bias', 'seed', 'prompt_cache_key',
    ],
  },
  {
    path: '/v1/embeddings',
    format: 'openai',
    valid: { model: 'text-embedding-3-small', input: `hello ${CANARY}` },
    fields: ['model', 'input', 'input.0', 'dimensions', 'encoding_format', 'user'],
  },
  {
    path: '/v1/messages',
    format: 'anthropic',
    valid: { model: 'claude-3-5-haiku-latest', max_tokens: 16, messages: [userTurn] },
    fields: [
      'model', 'max_tokens', 'messages', 'messages.0', 'messages.0.role', 'messages.0.content', 'messages.0.content.0',
      'messages.0.content.0.type', 'messages.0.content.0.text', 'messages.1', 'system', 'system.0', 'stream', 'tools',
      'tools.0', 'tools.0.input_schema', 'tool_choice', 'thinking', 'metadata', 'stop_sequences', 'temperature', 'top_k',
    ],
  },
  {
    path: '/v1/messages/count_tokens',
    format: 'anthropic',
    valid: { model: 'claude-3-5-haiku-latest', messages: [userTurn] },
    fields: ['model', 'messages', 'messages.0', 'messages.0.role', 'messages.0.content', 'messages.0.content.0', 'system', 'tools', 'tools.0', 'thinking'],
  },
];

/** Returns a copy of `value` with `value` set at the dotted path (intermediate containers created as needed). */
export function withField(body: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(body);
  const keys = path.split('.');
  let node: any = copy;
  for (const [i, key] of keys.slice(0, -1).entries()) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = /^\d+$/.test(keys[i + 1]) ? [] : {};
    node = node[key];
  }
  node[keys.at(-1)!] = value;
  return copy;
}

const oddStrings = fc.constantFrom(
  '', ' ', '\u0000', '\ud800', '\udfff', '\ufeff', '\u202e', '\u200d'.repeat(50), 'e\u0301'.repeat(200), '💥'.repeat(100),
  'null', '[]', '{}', '__proto__', 'constructor', '-1', 'NaN', '1e309', '<script>', '{{x}}', '%s%n', CANARY,
);

/** Values of every JSON type, odd ones favoured: what a field of the wrong type may hold. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, [], {}, [null], [[]], [{}]),
  oddStrings,
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constant({ __proto__: { polluted: true } }),
  fc.record({ type: fc.constantFrom('text', 'image', 'tool_use', 'tool_result', 'thinking', 'document', 'x'), text: fc.jsonValue({ maxDepth: 1 }) }),
);

/** A known field of one of the APIs replaced by a value of any type (or removed). */
export const wrongTypeRequest = fc.constantFrom(...APIS).chain((api) =>
  fc.record({
    api: fc.constant(api),
    body: fc
      .array(fc.tuple(fc.constantFrom(...api.fields), fc.oneof(wrongValue, fc.constant(undefined))), { minLength: 1, maxLength: 3 })
      // the model name is the caller's identifier and is echoed on purpose ("model x has no price"): no canary there
      .map((edits) => edits.reduce((body, [path, value]) => withField(body, path, path === 'model' && value === CANARY ? 'no-such-model' : value), api.valid))
      .map((body) => JSON.stringify(body)),
  }),
);

/** Text that is not a JSON object: broken syntax, truncations, other top-level types. */
export const malformedJson = fc.constantFrom(...APIS).chain((api) => {
  const valid = JSON.stringify(api.valid);
  return fc.record({
    api: fc.constant(api),
    body: fc.oneof(
      fc.integer({ min: 0, max: valid.length - 1 }).map((n) => valid.slice(0, n)),
      fc.string({ unit: 'binary', maxLength: 200 }).filter((s) => !isJson(s)),
      fc.constantFrom('', ' ', '\n', 'null', 'true', '42', '"text"', '[]', '[{}]', 'NaN', "{'model':'x'}", '{"a":1,}', '{"a":1}{"b":2}', '\ufeff{}'),
      fc.string({ maxLength: 20 }).map((junk) => `${valid}${junk}`).filter((s) => !isJson(s)),
      fc.integer({ min: 1, max: valid.length - 1 }).map((n) => `${valid.slice(0, n)}\u0000${valid.slice(n)}`),
    ),
  });
});

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const INVALID_UTF8 = [[0x80], [0xff], [0xc0, 0x80], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]];

/** A valid request with invalid UTF-8 byte sequences inside its text (or anywhere in the body). */
export const invalidUtf8 = fc.constantFrom(...APIS).chain((api) => {
  const bytes = Buffer.from(JSON.stringify(api.valid));
  const textAt = bytes.indexOf('hello') + 2;
  return fc.record({
    api: fc.constant(api),
    body: fc
      .array(fc.tuple(fc.constantFrom(...INVALID_UTF8), fc.oneof(fc.constant(textAt), fc.integer({ min: 0, max: bytes.length }))), { minLength: 1, maxLength: 4 })
      .map((inserts) => {
        let out = bytes;
        for (const [seq, at] of inserts) out = Buffer.concat([out.subarray(0, Math.min(at, out.length)), Buffer.from(seq), out.subarray(Math.min(at, out.length))]);
        return out;
      }),
  });
});

/** Strings that stress unicode handling (tokenizer, PII detection, translation), in the prompt text. */
export const unicodeRequest = fc.constantFrom(...APIS).chain((api) =>
  fc.record({
    api: fc.constant(api),
    body: fc
      .oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 100 }), oddStrings, fc.array(oddStrings, { maxLength: 20 }).map((a) => a.join('')))
      .map((text) => JSON.stringify(withField(api.valid, textField(api), `${text} ${CANARY}`))),
  }),
);

function textField(api: FuzzedApi): string {
  return api.path.endsWith('/embeddings') ? 'input' : 'messages.0.content';
}

/** Deeply nested arrays or objects in a field that plugins walk (content, metadata, tools) or as the whole body. */
export const deepRequest = fc.constantFrom(...APIS).chain((api) =>
  fc.record({
    api: fc.constant(api),
    depth: fc.constantFrom(100, 1_000, 10_000, 100_000),
    where: fc.constantFrom(textField(api), 'metadata', 'tools', ''),
    kind: fc.constantFrom('array', 'object'),
  }).map(({ api, depth, where, kind }) => {
    // depth counts the nested value's own levels; the body around it adds up to 3
    const nested = kind === 'array' ? `${'['.repeat(depth)}"x"${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}"x"${'}'.repeat(depth)}`;
    const marker = '"__NESTED__"';
    const body = where === '' ? nested : JSON.stringify(withField(api.valid, where, '__NESTED__')).replace(marker, nested);
    return { api, body, depth };
  }),
);

/** Many messages, blocks, inputs or tools: bodies of a few MB that stay under the default limit. */
export const hugeRequest = fc.constantFrom(...APIS).chain((api) =>
  fc.record({
    api: fc.constant(api),
    body: fc
      .record({
        // 100,000-item arrays take longer than 10 s in a stage (see the reliability report): not yet bounded
        count: fc.constant(10_000),
        shape: fc.constantFrom('turns', 'blocks', 'inputs', 'tools', 'stops'),
      })
      .map(({ count, shape }) => JSON.stringify(hugeBody(api, shape, count))),
  }),
);

function hugeBody(api: FuzzedApi, shape: string, count: number): Record<string, unknown> {
  const many = <T>(item: (i: number) => T) => Array.from({ length: count }, (_, i) => item(i));
  switch (shape) {
    case 'turns':
      return withField(api.valid, 'messages', many((i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'hi' })));
    case 'blocks':
      return withField(api.valid, 'messages.0.content', many(() => ({ type: 'text', text: 'hi' })));
    case 'inputs':
      return withField(api.valid, api.path.endsWith('/embeddings') ? 'input' : 'messages', many(() => 'x'));
    case 'tools':
      return withField(api.valid, 'tools', many((i) => ({ type: 'function', name: `t${i}`, function: { name: `t${i}`, parameters: {} } })));
    case 'stops':
      return withField(api.valid, api.format === 'anthropic' ? 'stop_sequences' : 'stop', many(() => 's'));
    default:
      return withField(api.valid, textField(api), `word ${'a'.repeat(count * 50)} ${CANARY}`);
  }
}
