import type { PseudonymVault } from './pseudonyms';
import { labelOf, type Finding, type Scanner } from './scanner';

/** Text that arrives in pieces (a streamed answer): each piece goes in, what is safe to send comes out. */
export interface TextTransducer {
  push(text: string): string;
  /** The end of the text: everything still held back. */
  end(): string;
}

/**
 * Restores placeholders in streamed text. A placeholder may be split between pieces at any character, so the
 * restorer holds back the longest suffix that is still a proper prefix of one of this request's placeholders (the
 * least it can hold back), and sends everything before it, restored.
 */
export class StreamingRestorer implements TextTransducer {
  private held = '';
  private readonly longest: number;

  constructor(
    private readonly vault: PseudonymVault,
    private readonly json: boolean,
  ) {
    this.longest = Math.max(0, ...vault.placeholders.map((p) => p.length));
  }

  push(text: string): string {
    const buffer = this.held + text;
    const cut = this.holdBackFrom(buffer);
    this.held = buffer.slice(cut);
    return this.vault.restore(buffer.slice(0, cut), this.json);
  }

  end(): string {
    const rest = this.held;
    this.held = '';
    return this.vault.restore(rest, this.json);
  }

  private holdBackFrom(buffer: string): number {
    for (let p = Math.max(0, buffer.length - this.longest + 1); p < buffer.length; p++) {
      if (buffer.charCodeAt(p) !== 60 /* < */) continue;
      const tail = buffer.slice(p);
      if (this.vault.placeholders.some((ph) => ph.length > tail.length && ph.startsWith(tail))) return p;
    }
    return buffer.length;
  }
}

/** Replaces findings by their [TYPE] label. */
export function redactText(text: string, findings: Finding[]): string {
  let out = '';
  let at = 0;
  for (const f of findings) {
    out += `${text.slice(at, f.start)}[${labelOf(f.type)}]`;
    at = f.end;
  }
  return out + text.slice(at);
}

/**
 * Scans streamed model output. It keeps the last `holdChars` characters back (more than any single entity but a PEM
 * block), so that a match is always complete before anything around it is sent; a match that crosses the point up to
 * which it would send moves that point before the match. Found entities are redacted, or, in block mode, nothing
 * more is sent and `blocked` turns true.
 */
export class StreamingOutputScanner implements TextTransducer {
  private held = '';
  blocked = false;

  constructor(
    private readonly scanner: Scanner,
    private readonly block: boolean,
    private readonly onFindings: (findings: Finding[]) => void,
    private readonly holdChars = 256,
  ) {}

  push(text: string): string {
    if (this.blocked) return '';
    this.held += text;
    if (this.held.length <= this.holdChars) return '';
    const { findings } = this.scanner.scan(this.held);
    let cut = this.held.length - this.holdChars;
    for (const f of findings) if (f.start < cut && f.end > cut) cut = f.start;
    return this.release(cut, findings.filter((f) => f.end <= cut));
  }

  end(): string {
    if (this.blocked) return '';
    const { findings } = this.scanner.scan(this.held);
    return this.release(this.held.length, findings);
  }

  private release(cut: number, findings: Finding[]): string {
    if (findings.length > 0) {
      this.onFindings(findings);
      if (this.block) {
        this.blocked = true;
        this.held = '';
        return '';
      }
    }
    const out = redactText(this.held.slice(0, cut), findings);
    this.held = this.held.slice(cut);
    return out;
  }
}

/** Transducers applied one after the other. */
export function chainTransducers(parts: TextTransducer[]): TextTransducer {
  return {
    push: (text) => parts.reduce((t, p) => p.push(t), text),
    end: () => parts.reduce((t, p) => p.push(t) + p.end(), ''),
  };
}
