import { Decoder, Encoder } from '@msgpack/msgpack';

// One encoder and decoder for the process: reusing them avoids allocating their buffers on every message.
const encoder = new Encoder();
const decoder = new Decoder();

const INITIAL_SIZE = 64 * 1024;

/**
 * Splits a byte stream of back-to-back MessagePack objects (Kong's msgpack-RPC framing: no length prefix)
 * into whole messages, whatever the read boundaries are.
 *
 * Bytes are appended to one buffer and a resumable scanner walks item headers only, so a message is decoded
 * exactly once, when it is complete: an 8 MB raw body is copied once from the socket's chunks into a buffer of
 * its size and decoded in place, instead of re-decoded on every socket read as in kong-pdk 0.6.0 (O(n²)).
 */
export class MsgpackStreamReader {
  private buf: Uint8Array = new Uint8Array(INITIAL_SIZE);
  private view: DataView = new DataView(this.buf.buffer);
  private end = 0; // bytes held
  private scanPos = 0; // where the scanner resumes (absolute in buf)
  private pending = 1; // items still needed to complete the current top-level object
  private wanted = 0; // bytes the current message needs at least, once a large item's header is seen

  /** Feeds bytes; returns every message completed by them, in order. Throws on bytes that are not MessagePack. */
  push(chunk: Uint8Array): unknown[] {
    this.append(chunk);
    const out: unknown[] = [];
    while (this.scan()) {
      out.push(this.takeMessage(this.scanPos));
      this.scanPos = 0;
      this.pending = 1;
      this.wanted = 0;
      if (this.end === 0) break;
    }
    return out;
  }

  /** Bytes received that do not yet form a whole message. */
  get buffered(): number {
    return this.end;
  }

  /**
   * Decoded bin values are views into their input. A small message is copied out so the buffer can be reused;
   * a large one (a raw body) is decoded in place and the buffer handed over to it, so its bytes are never copied.
   */
  private takeMessage(length: number): unknown {
    const rest = this.end - length;
    if (length <= INITIAL_SIZE) {
      const message = decoder.decode(this.buf.slice(0, length));
      this.buf.copyWithin(0, length, this.end);
      this.end = rest;
      return message;
    }
    const message = decoder.decode(this.buf.subarray(0, length));
    const next = new Uint8Array(Math.max(INITIAL_SIZE, rest));
    next.set(this.buf.subarray(length, this.end));
    this.setBuffer(next, rest);
    return message;
  }

  private append(chunk: Uint8Array): void {
    const needed = Math.max(this.end + chunk.length, this.wanted);
    if (needed > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < needed) size *= 2;
      // a known large message gets exactly its size at once: no doubling copies of a raw body
      const grown = new Uint8Array(this.wanted >= this.end + chunk.length ? this.wanted : size);
      grown.set(this.buf.subarray(0, this.end));
      this.setBuffer(grown, this.end);
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  private setBuffer(buf: Uint8Array, end: number): void {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.end = end;
  }

  /** Advances over whole items; true when the top-level object is complete at scanPos. */
  private scan(): boolean {
    const b = this.buf;
    const v = this.view;
    while (this.pending > 0) {
      const p = this.scanPos;
      if (p >= this.end) return false;
      const t = b[p];
      let size: number; // header + payload bytes of this item, excluding children
      let children = 0;
      const need = (n: number): boolean => p + n <= this.end;
      if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) size = 1;
      else if (t >= 0x80 && t <= 0x8f) { size = 1; children = (t & 0x0f) * 2; }
      else if (t >= 0x90 && t <= 0x9f) { size = 1; children = t & 0x0f; }
      else if (t >= 0xa0 && t <= 0xbf) size = 1 + (t & 0x1f);
      else {
        switch (t) {
          case 0xcc: case 0xd0: size = 2; break;
          case 0xcd: case 0xd1: size = 3; break;
          case 0xca: case 0xce: case 0xd2: size = 5; break;
          case 0xcb: case 0xcf: case 0xd3: size = 9; break;
          case 0xd4: size = 3; break;
          case 0xd5: size = 4; break;
          case 0xd6: size = 6; break;
          case 0xd7: size = 10; break;
          case 0xd8: size = 18; break;
          case 0xc4: case 0xd9: if (!need(2)) return false; size = 2 + b[p + 1]; break;
          case 0xc5: case 0xda: if (!need(3)) return false; size = 3 + v.getUint16(p + 1); break;
          case 0xc6: case 0xdb: if (!need(5)) return false; size = 5 + v.getUint32(p + 1); break;
          case 0xc7: if (!need(2)) return false; size = 3 + b[p + 1]; break;
          case 0xc8: if (!need(3)) return false; size = 4 + v.getUint16(p + 1); break;
          case 0xc9: if (!need(5)) return false; size = 6 + v.getUint32(p + 1); break;
          case 0xdc: if (!need(3)) return false; size = 3; children = v.getUint16(p + 1); break;
          case 0xdd: if (!need(5)) return false; size = 5; children = v.getUint32(p + 1); break;
          case 0xde: if (!need(3)) return false; size = 3; children = v.getUint16(p + 1) * 2; break;
          case 0xdf: if (!need(5)) return false; size = 5; children = v.getUint32(p + 1) * 2; break;
          default: throw new Error(`invalid MessagePack type byte 0x${t.toString(16)}`);
        }
      }
      if (!need(size)) {
        this.wanted = Math.max(this.wanted, p + size);
        return false;
      }
      this.scanPos = p + size;
      this.pending += children - 1;
    }
    return true;
  }
}

/** Encodes one msgpack-RPC message. `undefined` values become nil, as Kong expects for absent results. */
export function encodeMessage(message: unknown): Uint8Array {
  return encoder.encode(message); // a copy of the encoder's buffer: safe to hand to an async socket write
}

export const RPC_REQUEST = 0;
export const RPC_RESPONSE = 1;
export const RPC_NOTIFICATION = 2;
