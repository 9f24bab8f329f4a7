/**
 * The text of stream events passed through raw (OpenAI chunks, or Anthropic events when passing through), read only
 * when a stream broke off before the provider reported usage: the happy path never parses them.
 */
const MAX_KEPT_CHARS = 4 * 1024 * 1024;

export class RawStreamText {
  private readonly frames: string[] = [];
  private kept = 0;

  add(data: string): void {
    if (this.kept + data.length > MAX_KEPT_CHARS) return;
    this.frames.push(data);
    this.kept += data.length;
  }

  /** Answer text and tool-call arguments of the kept events. */
  text(): string {
    let text = '';
    for (const data of this.frames) {
      let event: any;
      try {
        event = JSON.parse(data);
      } catch {
        continue;
      }
      for (const choice of Array.isArray(event?.choices) ? event.choices : []) {
        if (typeof choice?.delta?.content === 'string') text += choice.delta.content;
        for (const call of Array.isArray(choice?.delta?.tool_calls) ? choice.delta.tool_calls : []) {
          if (typeof call?.function?.arguments === 'string') text += call.function.arguments;
        }
      }
      const delta = event?.type === 'content_block_delta' ? event.delta : undefined;
      if (typeof delta?.text === 'string') text += delta.text;
      if (typeof delta?.partial_json === 'string') text += delta.partial_json;
      if (typeof delta?.thinking === 'string') text += delta.thinking;
    }
    return text;
  }
}
