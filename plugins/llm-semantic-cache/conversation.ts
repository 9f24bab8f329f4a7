/**
 * What of a chat conversation the semantic cache compares, and how. The embedder sees only the trailing user turn(s);
 * everything it must not blur — system prompt, earlier turns, non-text parts and any text beyond the embedder's
 * window — goes into `partitionText`, which the cache hashes into the partition, so entries that differ there are
 * never compared by similarity at all. The plugin and `kong-llm cache eval` both key requests with this function.
 */
export interface SemanticKeyText {
  /** Exact context: hash it into the partition (JSON, stable for equal conversations). */
  partitionText: string;
  /** The trailing user text, whitespace-collapsed and cut to the embedder's window: embed it. */
  embedText: string;
}

type Message = Record<string, unknown>;

/**
 * Splits an OpenAI Chat Completions `messages` array. Returns undefined when the conversation does not end with a
 * user turn that has text (e.g. a tool result turn): such requests have nothing to compare semantically.
 * `windowChars` is the embedder's input window (see EMBED_WINDOW_CHARS): text beyond it is matched exactly.
 */
export function semanticKeyText(messages: readonly unknown[], windowChars: number): SemanticKeyText | undefined {
  let start = messages.length;
  while (start > 0 && isUserMessage(messages[start - 1])) start--;
  if (start === messages.length) return undefined;

  const trailing = messages.slice(start) as Message[];
  const texts: string[] = [];
  const otherParts: unknown[] = [];
  for (const message of trailing) {
    for (const part of contentParts(message.content)) {
      if (typeof part === 'string') texts.push(part);
      else otherParts.push(part);
    }
  }
  const text = collapseWhitespace(texts.join('\n'));
  if (!text) return undefined;
  const { head, tail } = splitAtWindow(text, windowChars);
  const context = messages.slice(0, start).map(canonicalMessage);
  return { partitionText: JSON.stringify({ context, otherParts, tail, names: trailing.map((m) => m.name ?? null) }), embedText: head };
}

/** Collapsing whitespace is the only text normalisation that proved safe (dropping punctuation was not: `==`/`===`). */
export function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function isUserMessage(m: unknown): m is Message {
  return typeof m === 'object' && m !== null && (m as Message).role === 'user';
}

/** Text of a message content as strings; other parts (images, audio, files) as they are. */
function contentParts(content: unknown): unknown[] {
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content)) return content === undefined || content === null ? [] : [content];
  return content.map((part: unknown) => {
    const p = part as Message | null;
    return p && p.type === 'text' && typeof p.text === 'string' ? p.text : part;
  });
}

/** The fields of an earlier message that change the answer, in a fixed order so equal contexts stringify equally. */
function canonicalMessage(m: unknown): unknown {
  if (typeof m !== 'object' || m === null) return m;
  const { role, name, content, tool_calls, tool_call_id, function_call } = m as Message;
  return [role, name ?? null, content ?? null, tool_calls ?? null, tool_call_id ?? null, function_call ?? null];
}

/** Cuts at the last space inside the window, so no word is split between the vector and the exact part. */
function splitAtWindow(text: string, windowChars: number): { head: string; tail: string } {
  if (text.length <= windowChars) return { head: text, tail: '' };
  const space = text.lastIndexOf(' ', windowChars);
  const cut = space > 0 ? space : windowChars;
  return { head: text.slice(0, cut), tail: text.slice(cut).trim() };
}
