import type { InboundApi } from '../runtime/relay/api';
import type { PseudonymVault } from './pseudonyms';
import type { Deadline, Finding, Scanner } from './scanner';
import { labelOf } from './scanner';
import type { PiiGuardConfig } from './schema';

type Scope = PiiGuardConfig['scope'];

/** A text field of the request that can be read and rewritten in place. */
interface TextSlot {
  text: string;
  set(value: string): void;
  /** Embeddings input: nothing comes back to restore, so pseudonymize redacts. */
  embeddings?: boolean;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const ROLE_SCOPE: Record<string, keyof Scope> = {
  system: 'system',
  developer: 'developer',
  user: 'user',
  assistant: 'assistant',
  tool: 'tool',
  function: 'tool',
};

/** String leaves of parsed JSON, as slots whose `set` rewrites the leaf in place. */
function jsonStringSlots(value: unknown, set: (v: unknown) => void, out: TextSlot[]): void {
  if (typeof value === 'string') out.push({ text: value, set });
  else if (Array.isArray(value)) value.forEach((item, i) => jsonStringSlots(item, (v) => (value[i] = v), out));
  else if (isObject(value)) for (const k of Object.keys(value)) jsonStringSlots(value[k], (v) => (value[k] = v), out);
}

/** Tool-call arguments are JSON in a string: scan its string values, write the JSON back once they change. */
function argumentSlots(holder: Json, out: TextSlot[]): void {
  const raw = holder.arguments;
  if (typeof raw !== 'string') return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    out.push({ text: raw, set: (v) => (holder.arguments = v) }); // not JSON: labels and placeholders keep it as it was
    return;
  }
  const leaves: TextSlot[] = [];
  jsonStringSlots(parsed, (v) => (parsed = v), leaves);
  for (const leaf of leaves) {
    out.push({
      text: leaf.text,
      set: (v) => {
        leaf.set(v);
        holder.arguments = JSON.stringify(parsed);
      },
    });
  }
}

function contentSlots(message: Json, out: TextSlot[]): void {
  const { content } = message;
  if (typeof content === 'string') out.push({ text: content, set: (v) => (message.content = v) });
  else if (Array.isArray(content)) {
    for (const part of content) {
      // text parts of multimodal content (text, input_text, refusal…); images and audio carry no text to scan
      if (isObject(part) && typeof part.text === 'string') out.push({ text: part.text, set: (v) => (part.text = v) });
      if (isObject(part) && typeof part.refusal === 'string') out.push({ text: part.refusal, set: (v) => (part.refusal = v) });
    }
  }
}

/** The request's text fields in the configured scope. */
export function requestSlots(api: InboundApi, body: Json | undefined, scope: Scope): TextSlot[] {
  const out: TextSlot[] = [];
  if (!body) return out;
  if (api === 'openai-chat' && Array.isArray(body.messages)) {
    for (const message of body.messages) {
      if (!isObject(message)) continue;
      const roleScope = ROLE_SCOPE[String(message.role)] ?? 'user';
      if (scope[roleScope]) contentSlots(message, out);
      if (!scope.tool_call_arguments) continue;
      if (Array.isArray(message.tool_calls)) {
        for (const call of message.tool_calls) if (isObject(call) && isObject(call.function)) argumentSlots(call.function, out);
      }
      if (isObject(message.function_call)) argumentSlots(message.function_call, out);
    }
  }
  if (api === 'openai-embeddings' && scope.embeddings_input) {
    const input = body.input;
    if (typeof input === 'string') out.push({ text: input, set: (v) => (body.input = v), embeddings: true });
    else if (Array.isArray(input)) {
      input.forEach((item, i) => {
        if (typeof item === 'string') out.push({ text: item, set: (v) => (input[i] = v), embeddings: true });
      });
    }
  }
  return out;
}

export interface RequestScan {
  slots: { slot: TextSlot; findings: Finding[] }[];
  allowed: number;
  findings: Finding[];
}

/** Scans every slot first; nothing is changed until the whole request has been scanned (see applyActions). */
export function scanRequest(scanner: Scanner, slots: TextSlot[], deadline: Deadline): RequestScan {
  const scanned: RequestScan['slots'] = [];
  let allowed = 0;
  const findings: Finding[] = [];
  for (const slot of slots) {
    const result = scanner.scan(slot.text, deadline);
    allowed += result.allowed;
    if (result.findings.length > 0) scanned.push({ slot, findings: result.findings });
    findings.push(...result.findings);
  }
  return { slots: scanned, allowed, findings };
}

/** Redacts and pseudonymizes in place (block is decided before; log_only leaves the text as it is). */
export function applyActions(scan: RequestScan, vault: PseudonymVault): void {
  for (const { slot, findings } of scan.slots) {
    let out = '';
    let at = 0;
    let changed = false;
    for (const f of findings) {
      let replacement: string;
      if (f.action === 'redact' || (f.action === 'pseudonymize' && slot.embeddings)) replacement = `[${labelOf(f.type)}]`;
      else if (f.action === 'pseudonymize') replacement = vault.placeholderFor(f.type, f.value);
      else continue;
      out += slot.text.slice(at, f.start) + replacement;
      at = f.end;
      changed = true;
    }
    if (changed) slot.set(out + slot.text.slice(at));
  }
}
