/** A streamed chat completion as the official `openai` SDK yields it, reduced to what tests compare. */
export interface CollectedStream {
  text: string;
  /** every finish_reason seen, in order (a well-formed stream has exactly one per choice) */
  finishes: string[];
  usage: unknown;
}

export async function collectOpenAiStream(
  stream: AsyncIterable<{ choices: { delta?: { content?: string | null }; finish_reason?: string | null }[]; usage?: unknown }>,
): Promise<CollectedStream> {
  const out: CollectedStream = { text: '', finishes: [], usage: undefined };
  for await (const chunk of stream) {
    out.text += chunk.choices[0]?.delta?.content ?? '';
    const finish = chunk.choices[0]?.finish_reason;
    if (finish) out.finishes.push(finish);
    if (chunk.usage) out.usage = chunk.usage;
  }
  return out;
}
