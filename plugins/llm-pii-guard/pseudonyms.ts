import { labelOf, normalizedValue } from './scanner';

/** Placeholders look like `<EMAIL_1>`: a label of capitals, digits and _, then a number. */
export const PLACEHOLDER = /<[A-Z][A-Z0-9_]{0,40}_\d{1,6}>/g;

/**
 * The per-request map between originals and placeholders. It lives only in the request's plugin state (memory) and
 * is dropped when the request completes; it is never logged, stored or sent anywhere.
 */
export class PseudonymVault {
  private readonly byValue = new Map<string, string>();
  private readonly byPlaceholder = new Map<string, string>();
  private readonly counters = new Map<string, number>();
  /** How many placeholders were put back into answers. */
  restoredCount = 0;

  /** `reserved`: the request's own text, so that a placeholder the client wrote itself is never reused. */
  constructor(private readonly reserved: () => string) {}

  placeholderFor(type: string, value: string): string {
    const key = `${type}\u0000${normalizedValue(type, value)}`;
    const existing = this.byValue.get(key);
    if (existing) return existing;
    const label = labelOf(type);
    let n = this.counters.get(label) ?? 0;
    let placeholder: string;
    do {
      n += 1;
      placeholder = `<${label}_${n}>`;
    } while (this.reservedText().includes(placeholder));
    this.counters.set(label, n);
    this.byValue.set(key, placeholder);
    this.byPlaceholder.set(placeholder, value);
    return placeholder;
  }

  private reservedCache: string | undefined;
  private reservedText(): string {
    this.reservedCache ??= this.reserved();
    return this.reservedCache;
  }

  get size(): number {
    return this.byPlaceholder.size;
  }

  get placeholders(): string[] {
    return [...this.byPlaceholder.keys()];
  }

  original(placeholder: string): string | undefined {
    return this.byPlaceholder.get(placeholder);
  }

  /** Replaces every placeholder of this request in a whole text; `json`: the text is JSON, originals go in escaped. */
  restore(text: string, json = false): string {
    if (this.size === 0 || !text.includes('<')) return text;
    return text.replace(PLACEHOLDER, (ph) => {
      const original = this.byPlaceholder.get(ph);
      if (original === undefined) return ph;
      this.restoredCount++;
      return json ? JSON.stringify(original).slice(1, -1) : original;
    });
  }

  clear(): void {
    this.byValue.clear();
    this.byPlaceholder.clear();
  }
}
