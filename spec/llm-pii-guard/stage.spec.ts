import { Scanner } from '../../plugins/llm-pii-guard/scanner';
import { piiGuardStage } from '../../plugins/llm-pii-guard/stage';
import { log } from '../../plugins/runtime/logger';
import type { ChatCompletion, Exchange } from '../../plugins/runtime/relay/stage';
import { configOf, exchangeFor } from './helpers';

const EMAIL = 'jane.roe@acme-corp.io';
const PHONE = '+44 20 7946 0958';
const KEY = `sk-proj-${'Ab3'.repeat(20)}`;

const messages = (content: unknown, extra: Record<string, unknown>[] = []) => ({ model: 'm', messages: [...extra, { role: 'user', content }] });
const userText = (ex: Exchange) => {
  const msgs = ex.body!.messages as { content: unknown }[];
  return msgs[msgs.length - 1].content;
};

describe('llm-pii-guard stage: request actions', () => {
  it('block: 400 in the client\'s format naming entity types only, counted, with the X-LLM-PII header', async () => {
    const stage = piiGuardStage(configOf());
    const ex = exchangeFor(messages(`my key is ${KEY}, mail ${EMAIL}`));
    const answer = await stage.onRequest!(ex);
    expect(answer?.status).toBe(400);
    const body = JSON.parse(answer!.body);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'pii_detected' });
    expect(body.error.message).toContain('secret');
    expect(answer!.body).not.toContain(KEY);
    expect(answer!.body).not.toContain(EMAIL);
    expect(ex.responseHeaders['x-llm-pii']).toBe('secret=1;email=1');
    expect(ex.annotations.pii).toMatchObject({
      decision: 'rejected',
      blocked: true,
      detected: { secret: 1, email: 1 },
      actions: { block: 1, pseudonymize: 1 },
      by_type: { secret: { block: 1 }, email: { pseudonymize: 1 } },
      kinds: { openai_api_key: 1 },
    });
    expect(JSON.stringify(ex.annotations)).not.toContain(EMAIL);
  });

  it('redact: [TYPE] labels', async () => {
    const stage = piiGuardStage(configOf({ detectors: { email: { action: 'redact' }, phone: { action: 'redact' } } }));
    const ex = exchangeFor(messages(`mail ${EMAIL} or call ${PHONE}`));
    expect(await stage.onRequest!(ex)).toBeUndefined();
    expect(userText(ex)).toBe('mail [EMAIL] or call [PHONE]');
    expect(ex.pluginState['llm-pii-guard']).toBeUndefined(); // nothing to restore, no output scan: no state kept
  });

  it('pseudonymize: stable per request, distinct per value, never reusing a placeholder the client wrote', async () => {
    const stage = piiGuardStage(configOf());
    const ex = exchangeFor(messages(`a ${EMAIL}, b other@acme-corp.io, again ${EMAIL.toUpperCase()}, literal <EMAIL_1>`));
    await stage.onRequest!(ex);
    expect(userText(ex)).toBe('a <EMAIL_2>, b <EMAIL_3>, again <EMAIL_2>, literal <EMAIL_1>');
    const completion: ChatCompletion = { choices: [{ index: 0, message: { role: 'assistant', content: 'Hi <EMAIL_2> and <EMAIL_3> (<EMAIL_1>)' } }] };
    stage.transformCompletion!(ex, completion);
    expect(completion.choices[0].message.content).toBe(`Hi ${EMAIL} and other@acme-corp.io (<EMAIL_1>)`);
    await stage.onComplete!(ex);
    expect(ex.annotations.pii).toMatchObject({ restored: 2, actions: { pseudonymize: 3 } });
    expect(ex.pluginState['llm-pii-guard']).toBeUndefined(); // the mapping is dropped with the request
  });

  it('log_only: counts, changes nothing', async () => {
    const stage = piiGuardStage(configOf({ detectors: { email: { action: 'log_only' } } }));
    const ex = exchangeFor(messages(`mail ${EMAIL}`));
    await stage.onRequest!(ex);
    expect(userText(ex)).toBe(`mail ${EMAIL}`);
    expect(ex.annotations.pii).toMatchObject({ detected: { email: 1 }, actions: { log_only: 1 } });
    expect(ex.responseHeaders['x-llm-pii']).toBe('email=1');
  });

  it('scope: roles, multimodal text parts, tool results and tool-call arguments (kept valid JSON)', async () => {
    const stage = piiGuardStage(configOf({ scope: { system: false } }));
    const body = {
      model: 'm',
      messages: [
        { role: 'system', content: `escalate to ${EMAIL}` },
        { role: 'user', content: [{ type: 'text', text: `I am ${EMAIL}` }, { type: 'image_url', image_url: { url: 'https://img.example.com/a.png' } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'lookup', arguments: JSON.stringify({ email: EMAIL, n: 1 }) } }] },
        { role: 'tool', tool_call_id: 't1', content: `{"phone":"${PHONE}"}` },
      ],
    };
    const ex = exchangeFor(body);
    await stage.onRequest!(ex);
    const out = ex.body as typeof body;
    expect(out.messages[0].content).toBe(`escalate to ${EMAIL}`);
    expect((out.messages[1].content as { text?: string }[])[0].text).toBe('I am <EMAIL_1>');
    expect((out.messages[1].content as unknown[])[1]).toEqual(body.messages[1].content![1]);
    expect(JSON.parse(out.messages[2].tool_calls![0].function.arguments)).toEqual({ email: '<EMAIL_1>', n: 1 });
    expect(out.messages[3].content).toBe('{"phone":"<PHONE_1>"}');
  });

  it('embeddings input: pseudonymize becomes a label (nothing comes back to restore)', async () => {
    const stage = piiGuardStage(configOf());
    const ex = exchangeFor({ model: 'e', input: [`a ${EMAIL}`, 'plain'] }, 'openai-embeddings');
    await stage.onRequest!(ex);
    expect(ex.body!.input).toEqual(['a [EMAIL]', 'plain']);
  });
});

describe('llm-pii-guard stage: scan failures', () => {
  const huge = messages(`${'Contact jane.roe@acme-corp.io or +44 20 7946 0958, order 4111 1111 1111 1112. '.repeat(40_000)}`);

  it('fail closed: a scan over its time budget refuses the request with 503, forwarding nothing', async () => {
    const stage = piiGuardStage(configOf({ scan_timeout_ms: 1 }));
    const ex = exchangeFor(huge);
    const answer = await stage.onRequest!(ex);
    expect(answer?.status).toBe(503);
    expect(JSON.parse(answer!.body).error).toMatchObject({ code: 'pii_scan_failed' });
    expect(ex.annotations.pii).toMatchObject({ failure: 'timeout', decision: 'scan_failed_closed' });
  });

  it('fail closed: a scanning error refuses the request with 503', async () => {
    const stage = piiGuardStage(configOf());
    const spy = jest.spyOn(Scanner.prototype, 'scan').mockImplementation(() => {
      throw new Error(`boom near ${EMAIL}`);
    });
    const lines: string[] = [];
    log.setWriter((line) => lines.push(line));
    try {
      const ex = exchangeFor(messages(`mail ${EMAIL}`));
      const answer = await stage.onRequest!(ex);
      expect(answer?.status).toBe(503);
      expect(ex.annotations.pii).toMatchObject({ failure: 'error' });
      expect(lines.join('')).toContain('pii scan failed');
      expect(lines.join('')).not.toContain(EMAIL); // the error's text is not logged
    } finally {
      spy.mockRestore();
      log.setWriter((line) => process.stderr.write(line));
    }
  });

  it('fail open: the request goes on unchanged, counted and logged', async () => {
    const stage = piiGuardStage(configOf({ scan_timeout_ms: 1, fail_mode: 'open' }));
    const lines: string[] = [];
    log.setWriter((line) => lines.push(line));
    try {
      const ex = exchangeFor(huge);
      const before = JSON.stringify(ex.body);
      expect(await stage.onRequest!(ex)).toBeUndefined();
      expect(JSON.stringify(ex.body)).toBe(before);
      expect(ex.annotations.pii).toMatchObject({ failure: 'timeout', failed_open: true, decision: 'scan_failed_open' });
      expect(lines.some((l) => l.includes('"fail_mode":"open"'))).toBe(true);
      expect(lines.join('')).not.toContain('jane.roe');
    } finally {
      log.setWriter((line) => process.stderr.write(line));
    }
  });
});

describe('llm-pii-guard stage: output scanning', () => {
  it('non-streamed: redacts the model\'s own PII and says so in X-LLM-PII-Output; placeholders are restored after', async () => {
    const stage = piiGuardStage(configOf({ output: { enabled: true } }));
    const ex = exchangeFor(messages(`mail ${EMAIL}`));
    await stage.onRequest!(ex);
    const completion: ChatCompletion = { choices: [{ index: 0, message: { role: 'assistant', content: 'Ask <EMAIL_1> or boss@contoso-holdings.com' } }] };
    stage.transformCompletion!(ex, completion);
    expect(completion.choices[0].message.content).toBe(`Ask ${EMAIL} or [EMAIL]`);
    expect(ex.responseHeaders['x-llm-pii-output']).toBe('email=1');
  });

  it('streams get chunk hooks only when there is something to do', async () => {
    const plain = piiGuardStage(configOf());
    const ex = exchangeFor({ ...messages('hello'), stream: true });
    await plain.onRequest!(ex);
    expect(plain.chunkHooks!(ex)).toBeUndefined();
    const scanning = piiGuardStage(configOf({ output: { enabled: true } }));
    const ex2 = exchangeFor({ ...messages('hello'), stream: true });
    await scanning.onRequest!(ex2);
    expect(scanning.chunkHooks!(ex2)).toBeDefined();
  });
});
