import { EventStreamCodec, type Message } from '@smithy/core/event-streams';
import { GatewayError } from '../../runtime/relay/errors';
import type { StreamDecoder } from '../types';

/**
 * The event name a decoded exception or error message is handed on with; its data is `{"type", "message"}`.
 * The colon keeps it apart from every `:event-type` of Converse's stream union.
 */
export const EXCEPTION_EVENT = ':exception';
/**
 * Handed on (with data `{}`) when the body ended cleanly between messages: Bedrock's last event (metadata, the
 * usage) is optional, so only the end of the body tells a stream without it is over.
 */
export const END_EVENT = ':end';

/** Prelude (total length, headers length, prelude CRC) and message CRC. */
const MIN_MESSAGE_BYTES = 16;
/** The eventstream format's largest message. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const utf8 = new TextDecoder();
const codec = new EventStreamCodec(
  (bytes) => utf8.decode(bytes),
  (text) => Buffer.from(text, 'utf8'),
);

const malformed = (why: string) => new GatewayError(502, `provider bedrock sent a malformed event stream (${why})`, 'upstream_malformed');

function header(message: Message, name: string): string | undefined {
  const h = message.headers[name];
  return h && h.type === 'string' ? h.value : undefined;
}

/**
 * AWS eventstream (application/vnd.amazon.eventstream), the framing of ConverseStream: binary messages of
 * [total length][headers length][prelude CRC][headers][payload][message CRC]. Bytes are buffered until a whole
 * message is there (a message may be split anywhere, and one chunk may hold several); the message is checked and
 * decoded with @smithy's codec. Events go on as (payload JSON, `:event-type`); exceptions and errors as
 * ({"type","message"}, EXCEPTION_EVENT); the clean end of the body as END_EVENT. A broken or truncated stream throws
 * a 502 gateway error.
 */
export function eventStreamDecoder(): StreamDecoder {
  let pending: Buffer = Buffer.alloc(0);
  const emit = (message: Message, onEvent: (data: string, event: string | undefined) => void) => {
    const type = header(message, ':message-type') ?? 'event';
    const body = utf8.decode(message.body);
    if (type === 'event') return onEvent(body, header(message, ':event-type'));
    if (type === 'exception') {
      let text = '';
      try {
        const parsed = JSON.parse(body) as { message?: unknown; Message?: unknown };
        text = String(parsed.message ?? parsed.Message ?? '');
      } catch {
        text = body;
      }
      return onEvent(JSON.stringify({ type: header(message, ':exception-type') ?? 'exception', message: text }), EXCEPTION_EVENT);
    }
    if (type === 'error') {
      return onEvent(JSON.stringify({ type: header(message, ':error-code') ?? 'error', message: header(message, ':error-message') ?? '' }), EXCEPTION_EVENT);
    }
  };
  return {
    feed(bytes, onEvent) {
      pending = pending.length === 0 ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : Buffer.concat([pending, bytes]);
      while (pending.length >= 4) {
        const total = pending.readUInt32BE(0);
        if (total < MIN_MESSAGE_BYTES || total > MAX_MESSAGE_BYTES) throw malformed(`message length ${total}`);
        if (pending.length < total) return;
        let message: Message;
        try {
          message = codec.decode(pending.subarray(0, total));
        } catch (err) {
          throw malformed(err instanceof Error ? err.message : 'undecodable message');
        }
        pending = pending.subarray(total);
        emit(message, onEvent);
      }
    },
    end(onEvent) {
      if (pending.length > 0) throw malformed('it ended inside a message');
      onEvent('{}', END_EVENT);
    },
  };
}
