import { processCompletion, streamHooks, type AnswerContext } from '../../plugins/llm-pii-guard/answer';
import { PseudonymVault } from '../../plugins/llm-pii-guard/pseudonyms';
import { newReport } from '../../plugins/llm-pii-guard/report';
import { Scanner } from '../../plugins/llm-pii-guard/scanner';
import { StreamingRestorer } from '../../plugins/llm-pii-guard/text-stream';
import type { ChatChunk } from '../../plugins/runtime/relay/stage';
import { assemble, configOf, contentChunk, toolChunk } from './helpers';

/** A vault with <EMAIL_1> … <EMAIL_12> (so that <EMAIL_1> is a prefix of <EMAIL_12>), <PHONE_1> and a tricky secret. */
function vaultWithPlaceholders(): { vault: PseudonymVault; originals: Record<string, string> } {
  const vault = new PseudonymVault(() => '');
  const originals: Record<string, string> = {};
  for (let i = 1; i <= 12; i++) originals[vault.placeholderFor('email', `user${i}@acme.io`)] = `user${i}@acme.io`;
  originals[vault.placeholderFor('phone', '+44 20 7946 0958')] = '+44 20 7946 0958';
  originals[vault.placeholderFor('secret', 'p"a\\ss\u2028wörd')] = 'p"a\\ss\u2028wörd';
  return { vault, originals };
}

const TEXT = 'Mail <EMAIL_1> or <EMAIL_12>; call <PHONE_1>. Not ours: <EMAIL_99>, <b>bold</b>, a<b, <<EMAIL_2>>, end <EMAIL_1';

function runSplits(text: string, cuts: number[], make: () => StreamingRestorer): string {
  const r = make();
  let out = '';
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    const piece = r.push(text.slice(from, cut));
    out += piece;
    from = cut;
  }
  return out + r.end();
}

describe('placeholder restore in streams, split at every boundary', () => {
  const { vault, originals } = vaultWithPlaceholders();
  const expected = vault.restore(TEXT);

  it('the expected restore is right', () => {
    expect(expected).toBe(
      'Mail user1@acme.io or user12@acme.io; call +44 20 7946 0958. Not ours: <EMAIL_99>, <b>bold</b>, a<b, <user2@acme.io>, end <EMAIL_1',
    );
  });

  it('every single split point and every pair of split points', () => {
    for (let i = 0; i <= TEXT.length; i++) {
      expect(runSplits(TEXT, [i], () => new StreamingRestorer(vault, false))).toBe(expected);
      for (let j = i; j <= TEXT.length; j++) {
        const out = runSplits(TEXT, [i, j], () => new StreamingRestorer(vault, false));
        if (out !== expected) throw new Error(`split at ${i},${j} gave ${out}`);
      }
    }
  });

  it('one character at a time: exactly the longest suffix that could still become a placeholder is held back', () => {
    const r = new StreamingRestorer(vault, false);
    let sent = '';
    let consumed = '';
    for (const ch of TEXT) {
      consumed += ch;
      sent += r.push(ch);
      let held = '';
      for (let p = 0; p < consumed.length && held === ''; p++) {
        const tail = consumed.slice(p);
        if (vault.placeholders.some((ph) => ph.length > tail.length && ph.startsWith(tail))) held = tail;
      }
      expect(sent).toBe(vault.restore(consumed.slice(0, consumed.length - held.length)));
    }
    expect(sent + r.end()).toBe(expected);
  });

  it('in JSON (tool-call arguments) originals are escaped so the arguments stay valid JSON, at every split', () => {
    const args = JSON.stringify({ to: '<EMAIL_12>', password: '<SECRET_1>', note: 'call <PHONE_1> now' });
    const secret = Object.entries(originals).find(([p]) => p.startsWith('<SECRET'))![1];
    for (let i = 0; i <= args.length; i++) {
      const out = runSplits(args, [i], () => new StreamingRestorer(vault, true));
      expect(JSON.parse(out)).toEqual({ to: 'user12@acme.io', password: secret, note: 'call +44 20 7946 0958 now' });
    }
  });
});

describe('chunk hooks', () => {
  const { vault, originals } = vaultWithPlaceholders();
  const ctx = (output?: AnswerContext['output']): AnswerContext => ({ vault, report: newReport(), output });

  function streamText(text: string, cuts: number[], c: AnswerContext): ChatChunk[] {
    const hooks = streamHooks(c);
    const out: ChatChunk[] = [];
    let from = 0;
    for (const cut of [...cuts, text.length]) {
      out.push(...hooks.onChunk(contentChunk(text.slice(from, cut))).chunks);
      from = cut;
    }
    out.push(...hooks.onChunk(contentChunk('', 0, 'stop')).chunks);
    out.push(...hooks.flush());
    return out;
  }

  it('restores content split at every boundary; the held-back rest goes out with the finishing chunk', () => {
    for (let i = 0; i <= TEXT.length; i++) {
      const chunks = streamText(TEXT, [i], ctx());
      expect(assemble(chunks)).toMatchObject({ content: vault.restore(TEXT), finish: 'stop' });
      expect(chunks.at(-1)!.choices[0].finish_reason).toBe('stop');
    }
  });

  it('restores streamed tool-call arguments (per tool call) into valid JSON at every boundary', () => {
    const args = JSON.stringify({ email: '<EMAIL_3>', phone: '<PHONE_1>' });
    for (let i = 0; i <= args.length; i++) {
      const hooks = streamHooks(ctx());
      const chunks = [
        ...hooks.onChunk(toolChunk('', 0, { id: 'call_1', type: 'function', function: { name: 'send' } })).chunks,
        ...hooks.onChunk(toolChunk(args.slice(0, i))).chunks,
        ...hooks.onChunk(toolChunk(args.slice(i))).chunks,
        ...hooks.onChunk(toolChunk('{"n":"<EMAIL_1>"}', 1)).chunks,
        ...hooks.onChunk({ ...contentChunk('', 0, 'tool_calls'), choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }).chunks,
        ...hooks.flush(),
      ];
      const { args: out } = assemble(chunks);
      expect(JSON.parse(out[0])).toEqual({ email: originals['<EMAIL_3>'], phone: '+44 20 7946 0958' });
      expect(JSON.parse(out[1])).toEqual({ n: 'user1@acme.io' });
    }
  });

  it('flushes what is held back when the stream ends without a finishing chunk', () => {
    const hooks = streamHooks(ctx());
    const chunks = [...hooks.onChunk(contentChunk('see <EMA')).chunks, ...hooks.flush()];
    expect(assemble(chunks).content).toBe('see <EMA');
  });

  it('output scanning (redact): the model\'s own PII is redacted even when split across chunks', () => {
    const scanner = new Scanner(configOf());
    const answer = `${'Sure. '.repeat(60)}Write to ceo@contoso-holdings.com or call +44 20 7946 0958; my placeholder friend is <EMAIL_1>.`;
    for (const cut of [370, 371, 375, 380, 390, 400]) {
      const c = ctx({ scanner, action: 'redact' });
      const { content } = assemble(streamText(answer, [cut, cut + 3], c));
      expect(content).toBe(`${'Sure. '.repeat(60)}Write to [EMAIL] or call [PHONE]; my placeholder friend is user1@acme.io.`);
      expect(c.report.output).toMatchObject({ detected: { email: 1, phone: 1 }, blocked: false });
    }
  });

  it('output scanning (block): the stream ends with content_filter and the PII never leaves', () => {
    const scanner = new Scanner(configOf());
    const c = ctx({ scanner, action: 'block' });
    const hooks = streamHooks(c);
    const chunks: ChatChunk[] = [];
    let stopped = false;
    for (const word of `${'fine '.repeat(80)}the key is jane.doe@contoso-holdings.com ok ${'more '.repeat(80)}`.split(/(?<= )/)) {
      const r = hooks.onChunk(contentChunk(word));
      chunks.push(...r.chunks);
      if (r.stop) {
        stopped = true;
        break;
      }
    }
    expect(stopped).toBe(true);
    const { content, finish, refusal } = assemble(chunks);
    expect(content).not.toContain('jane.doe');
    expect(finish).toBe('content_filter');
    expect(refusal).toContain('email');
    expect(c.report.output?.blocked).toBe(true);
  });
});

describe('non-streamed answers', () => {
  it('restores content and tool-call arguments (valid JSON), after scanning output', () => {
    const { vault } = vaultWithPlaceholders();
    const completion = {
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Sent to <EMAIL_2>; leaked by the model: bob@contoso-holdings.com',
            tool_calls: [{ id: 'c1', type: 'function', function: { name: 'send', arguments: '{"to":"<EMAIL_2>","pw":"<SECRET_1>"}' } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
    };
    const report = newReport();
    processCompletion({ vault, report, output: { scanner: new Scanner(configOf()), action: 'redact' } }, completion);
    const message = completion.choices[0].message;
    expect(message.content).toBe('Sent to user2@acme.io; leaked by the model: [EMAIL]');
    expect(JSON.parse(message.tool_calls[0].function.arguments)).toEqual({ to: 'user2@acme.io', pw: 'p"a\\ss\u2028wörd' });
    expect(report.output?.detected).toEqual({ email: 1 });
  });

  it('output block withholds the answer: content null, a refusal naming types, finish_reason content_filter', () => {
    const vault = new PseudonymVault(() => '');
    const completion = { choices: [{ index: 0, message: { role: 'assistant', content: 'SSN 123-45-6789' } as Record<string, unknown>, finish_reason: 'stop' }] };
    processCompletion({ vault, report: newReport(), output: { scanner: new Scanner(configOf()), action: 'block' } }, completion);
    expect(completion.choices[0]).toMatchObject({ finish_reason: 'content_filter', message: { content: null } });
    expect(String(completion.choices[0].message.refusal)).toContain('us_ssn');
    expect(JSON.stringify(completion)).not.toContain('6789');
  });
});
