import fc from 'fast-check';
import { APIS, CANARY, deepRequest, hugeRequest, invalidUtf8, malformedJson, unicodeRequest, wrongTypeRequest, type FuzzedApi } from './support/bodies';
import { assertCleanAnswer, errorMessageOf, piiScanTimedOut } from './support/answer-checks';
import { assertProperty } from './support/property';
import { log } from '../../plugins/runtime/logger';
import { MAX_JSON_DEPTH } from '../../plugins/runtime/relay/relay-server';
import { CLIENT_KEY, FuzzRelay, UPSTREAM_ANTHROPIC_KEY, UPSTREAM_OPENAI_KEY, type UpstreamProvider } from './support/fuzz-relay';

/**
 * Property-based fuzzing of request bodies through the real relay (all five plugins with default configs, llm-proxy
 * in front of the OpenAI and Anthropic mocks): bad input never crashes or hangs the relay, never gets a 5xx, and is
 * refused in the client's own error envelope without echoing keys or request text.
 */
const PER_REQUEST_MS = 5_000;
const relay = new FuzzRelay();
const logLines: string[] = [];

beforeAll(async () => {
  log.setWriter((line) => void logLines.push(line));
  await relay.start();
});
afterAll(async () => {
  await relay.stop();
  log.setWriter((line) => void process.stderr.write(line));
});

const upstreamFor = (api: FuzzedApi, pick: boolean): UpstreamProvider => (api.format === 'anthropic' && pick ? 'anthropic' : 'openai');

async function sendAndCheck(api: FuzzedApi, body: Buffer | string, provider: UpstreamProvider, allow5xx?: (message: string) => boolean) {
  const answer = await relay.send({ path: api.path, body, provider }, PER_REQUEST_MS * 2);
  assertCleanAnswer(api.format, answer, PER_REQUEST_MS, allow5xx);
  return answer;
}

describe('request body fuzzing through the relay', () => {
  it('refuses malformed JSON and non-object bodies with 400 in the client\'s envelope', async () => {
    await assertProperty(
      fc.asyncProperty(malformedJson, fc.boolean(), async ({ api, body }, pick) => {
        const answer = await relay.send({ path: api.path, body, provider: upstreamFor(api, pick) });
        assertCleanAnswer(api.format, answer, PER_REQUEST_MS);
        expect(answer.status).toBe(400);
      }),
      200,
    );
  });

  it('answers wrong types in every known field without a 5xx', async () => {
    await assertProperty(
      fc.asyncProperty(wrongTypeRequest, fc.boolean(), async ({ api, body }, pick) => void (await sendAndCheck(api, body, upstreamFor(api, pick)))),
      300,
    );
  });

  it('survives invalid UTF-8 anywhere in the body', async () => {
    await assertProperty(
      fc.asyncProperty(invalidUtf8, fc.boolean(), async ({ api, body }, pick) => void (await sendAndCheck(api, body, upstreamFor(api, pick)))),
      150,
    );
  });

  it('survives unicode edge cases in the prompt text', async () => {
    await assertProperty(
      fc.asyncProperty(unicodeRequest, fc.boolean(), async ({ api, body }, pick) => void (await sendAndCheck(api, body, upstreamFor(api, pick)))),
      150,
    );
  });

  it('survives deep nesting (up to 100,000 levels) in the body and in walked fields', async () => {
    await assertProperty(
      fc.asyncProperty(deepRequest, fc.boolean(), async ({ api, body, depth }, pick) => {
        const answer = await sendAndCheck(api, body, upstreamFor(api, pick));
        if (depth > MAX_JSON_DEPTH) expect(errorMessageOf(api.format, answer.text)).toBe(`request body nests JSON deeper than ${MAX_JSON_DEPTH} levels`);
      }),
      60,
    );
  });

  it('survives huge arrays (10,000 items) under the body limit within bounded time', async () => {
    await assertProperty(
      // a multi-MB prompt may exceed the PII scan's time budget: llm-pii-guard then fails closed with 503 (documented)
      fc.asyncProperty(hugeRequest, fc.boolean(), async ({ api, body }, pick) => void (await sendAndCheck(api, body, upstreamFor(api, pick), piiScanTimedOut))),
      24,
    );
  });
});

it('a 500 kB single-word prompt is counted in bounded time (long runs tokenized in pieces)', async () => {
  const api = APIS[1];
  await sendAndCheck(api, JSON.stringify({ ...api.valid, input: `word ${'a'.repeat(500_000)}` }), 'openai');
});

describe('oversized bodies', () => {
  it('are refused with 413 and a message naming the limit (content-length sent)', async () => {
    const limit = 2_048;
    await assertProperty(
      fc.asyncProperty(fc.constantFrom(...APIS), fc.integer({ min: 1, max: 200_000 }), async (api, extra) => {
        const body = JSON.stringify({ ...api.valid, pad: `${CANARY}${'x'.repeat(limit + extra)}` });
        const answer = await relay.send({ path: api.path, body, maxBodyBytes: limit });
        assertCleanAnswer(api.format, answer, PER_REQUEST_MS);
        expect(answer.status).toBe(413);
        expect(errorMessageOf(api.format, answer.text)).toBe(
          `request body exceeds the gateway limit of ${limit} bytes (llm-proxy max_request_body_bytes)`,
        );
      }),
      100,
    );
  });

  it('a chunked body over the limit gets its 413 (the rest is drained, not cut off)', async () => {
    const api = APIS[3];
    const answer = await relay.send({ path: api.path, body: JSON.stringify({ ...api.valid, pad: 'x'.repeat(2_100) }), maxBodyBytes: 2_048, chunked: true });
    expect(answer.status).toBe(413);
  });

  it('refuses a body over the default 10 MiB limit', async () => {
    const api = APIS[0];
    const answer = await relay.send({ path: api.path, body: JSON.stringify({ ...api.valid, pad: 'x'.repeat(10 * 1024 * 1024) }) });
    expect(answer.status).toBe(413);
    expect(errorMessageOf('openai', answer.text)).toContain('10485760 bytes');
  });
});

const headerValue = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c === 0x7f ? 0x20 : c)), maxLength: 60 }),
  fc.constantFrom('', ' ', '2023-06-01', '9999-99-99', 'a'.repeat(4_000), 'tools-2024-04-04,', ',,,', '=?utf-8?q?x?=', '../../etc', '127.0.0.1'),
);
const headerName = fc.constantFrom(
  'anthropic-version', 'anthropic-beta', 'x-real-ip', 'x-kong-request-id', 'content-type', 'accept', 'x-api-key', 'authorization',
  'x-llm-team', 'x-llm-project', 'x-request-id', 'user-agent', 'x-stainless-retry-count', 'openai-organization', 'x-forwarded-for',
);

describe('header fuzzing', () => {
  it('answers odd and duplicated header values without a 5xx', async () => {
    await assertProperty(
      fc.asyncProperty(
        fc.constantFrom(...APIS),
        fc.dictionary(headerName, fc.oneof(headerValue.map((v) => v.trim()), fc.array(headerValue.map((v) => v.trim()), { minLength: 2, maxLength: 3 }))),
        fc.boolean(),
        async (api, headers, pick) => {
          const answer = await relay.send({ path: api.path, body: JSON.stringify(api.valid), headers, provider: upstreamFor(api, pick) });
          assertCleanAnswer(api.format, answer, PER_REQUEST_MS);
        },
      ),
      200,
    );
  });
});

describe('after the fuzzing', () => {
  it('has no request left in flight and still answers a valid request', async () => {
    for (let i = 0; i < 100 && relay.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(relay.inFlight).toBe(0);
    const answer = await relay.send({ path: APIS[0].path, body: JSON.stringify(APIS[0].valid) });
    expect(answer.status).toBe(200);
  });

  it('wrote no key and no request text to the log', () => {
    expect(logLines.length).toBeGreaterThan(0);
    const leaks = logLines.filter((line) => [UPSTREAM_OPENAI_KEY, UPSTREAM_ANTHROPIC_KEY, CLIENT_KEY, CANARY].some((s) => line.includes(s)));
    expect(leaks).toEqual([]);
  });
});
