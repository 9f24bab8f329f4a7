import { createParser } from 'eventsource-parser';
import type { StreamDecoder } from './types';

/** Server-Sent Events, robust to events split mid-line or mid-UTF-8 character, CRLF, comments and pings. */
export function sseDecoder(): StreamDecoder {
  let emit: (data: string, event: string | undefined) => void = () => undefined;
  const parser = createParser({ onEvent: (e) => emit(e.data, e.event) });
  const text = new TextDecoder();
  return {
    feed(bytes, onEvent) {
      emit = onEvent;
      parser.feed(text.decode(bytes, { stream: true }));
    },
    end(onEvent) {
      emit = onEvent;
      parser.feed(text.decode());
    },
  };
}
