import { ProtocolError } from './protocol-error.js';

/**
 * What the owner of a framer does with one whole message.
 * `Forward`: pass the original bytes on unchanged (merged with neighbours into one write).
 * `Consumed`: the owner handled it (replied, rewrote, dropped).
 * `Pause`: stop here; the message and everything after it stay buffered until `resume()`.
 * `Shrunk`: the owner rewrote the message in place and it is now `sink.shrunk` bytes long (no
 * longer than before); it stays part of the pass-through run.
 */
export const Verdict = { Forward: 0, Consumed: 1, Pause: 2, Shrunk: 3 } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** Receives a framer's output. Implementations do no I/O of their own beyond queueing writes. */
export interface FrameSink {
  /** A run of bytes to pass through unchanged (whole messages, or a streamed part of one). */
  forward(bytes: Buffer): void;
  /**
   * A whole message of a type the framer was told to deliver (`type` 0 = untyped startup-phase
   * message). Besides a Verdict it may return replacement bytes, which the framer sends in the
   * message's place, in order (an empty Buffer drops the message). A replacement that is the
   * message itself rewritten in place — a view with the same start, no longer — stays part of
   * the pass-through run (no extra write).
   */
  message(type: number, message: Buffer): Verdict | Buffer;
  /** After a `Shrunk` verdict: the message's new length. */
  shrunk?: number;
}

/** PostgreSQL refuses messages over 1 GB; so do we (a bogus length must not make us allocate it). */
export const MAX_MESSAGE_BYTES = 0x3fffffff;

/**
 * Splits a PostgreSQL byte stream into messages without assuming one chunk is one message
 * (https://www.postgresql.org/docs/current/protocol-overview.html#PROTOCOL-MESSAGE-CONCEPTS).
 *
 * Messages wholly inside a chunk are delivered as views of it (no copy); only a message that
 * spans chunks is assembled into its own buffer. Message types for which `wants(type)` is false
 * are streamed through as they arrive, so a huge DataRow is never held in memory.
 */
export class MessageFramer {
  /** True while the next message has no type byte (StartupMessage, SSLRequest, CancelRequest). */
  untyped: boolean;
  private readonly wants: (type: number) => boolean;
  private readonly writesDuring: (type: number) => boolean;
  /** A partial header (< 5 bytes) carried over from the previous chunk. */
  private header = Buffer.alloc(5);
  private headerLength = 0;
  /** A wanted message being assembled across chunks. */
  /**
   * A wanted message being assembled across chunks, kept as the pieces that arrived (views of
   * the chunks) and joined once complete: memory follows the bytes received, not the length a
   * peer claims (a 5-byte header announcing 1 GB must not make us allocate 1 GB).
   */
  private partialParts: Buffer[] = [];
  /** Declared size of the message being assembled; 0 when none. */
  private partialTotal = 0;
  private partialFilled = 0;
  private partialType = 0;
  /** Bytes still to stream of an unwanted message that spans chunks. */
  private streamRemaining = 0;
  /** Input kept back while paused. */
  private held: Buffer[] = [];
  private paused = false;

  /**
   * `writesDuring(type)`: whether the sink may write anything itself while handling a message of
   * that type (a replacement, a reply). Only then must the pass-through run before it be flushed
   * first; for other types the run simply continues over a forwarded message, so a chunk usually
   * leaves as one write. Defaults to always (safe).
   */
  constructor(
    wants: (type: number) => boolean,
    options: { untyped?: boolean; writesDuring?: (type: number) => boolean } = {},
  ) {
    this.wants = wants;
    this.writesDuring = options.writesDuring ?? (() => true);
    this.untyped = options.untyped ?? false;
  }

  /** True when the stream sits exactly between two messages (safe to inject a message of our own). */
  get atBoundary(): boolean {
    return this.headerLength === 0 && this.partialTotal === 0 && this.streamRemaining === 0;
  }

  /** True while a `Pause` verdict holds the stream. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Gives up the input held since a `Pause` (the paused message first) and forgets it. */
  takeHeld(): Buffer[] {
    const held = this.held;
    this.held = [];
    this.paused = false;
    return held;
  }

  /** Feeds one chunk; output goes to `sink` synchronously. */
  push(chunk: Buffer, sink: FrameSink): void {
    if (this.paused) {
      this.held.push(chunk);
      return;
    }
    this.process(chunk, sink);
  }

  /** Continues after a `Pause`: re-delivers the paused message, then whatever arrived meanwhile. */
  resume(sink: FrameSink): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (let i = 0; i < held.length; i++) {
      if (this.paused) {
        this.held.push(...held.slice(i));
        return;
      }
      this.process(held[i] as Buffer, sink);
    }
  }

  private process(chunk: Buffer, sink: FrameSink): void {
    let offset = 0;
    const end = chunk.length;

    // 1. Finish whatever spans from the previous chunk.
    if (this.streamRemaining > 0) {
      const take = Math.min(this.streamRemaining, end);
      sink.forward(chunk.subarray(0, take));
      this.streamRemaining -= take;
      offset = take;
      if (this.streamRemaining > 0) return;
    }
    if (this.partialTotal > 0) {
      const take = Math.min(this.partialTotal - this.partialFilled, end - offset);
      this.partialParts.push(chunk.subarray(offset, offset + take));
      this.partialFilled += take;
      offset += take;
      if (this.partialFilled < this.partialTotal) return;
      const message = Buffer.concat(this.partialParts, this.partialTotal);
      this.partialParts = [];
      this.partialTotal = 0;
      this.partialFilled = 0;
      if (!this.deliverAlone(this.partialType, message, sink, chunk.subarray(offset))) return;
    }
    if (this.headerLength > 0) {
      const headerSize = this.untyped ? 4 : 5;
      const take = Math.min(headerSize - this.headerLength, end - offset);
      chunk.copy(this.header, this.headerLength, offset, offset + take);
      this.headerLength += take;
      offset += take;
      if (this.headerLength < headerSize) return;
      this.headerLength = 0;
      const head = Buffer.from(this.header.subarray(0, headerSize));
      const next = this.startSpanning(head, chunk, offset, sink);
      if (next < 0) return;
      offset = next;
    }

    // 2. Whole messages inside this chunk, merged into as few pass-through runs as possible.
    // The run is chunk[runStart, write). A message the sink rewrote in place and shortened
    // leaves a gap: what follows is moved down over it, so the run stays one write.
    let runStart = offset;
    let write = offset;
    while (offset < end) {
      const headerSize = this.untyped ? 4 : 5;
      if (end - offset < headerSize) break;
      const type = this.untyped ? 0 : (chunk[offset] as number);
      const total = this.totalLength(
        type,
        this.untyped ? chunk.readInt32BE(offset) : chunk.readInt32BE(offset + 1),
      );
      const wanted = this.untyped || this.wants(type);
      if (!wanted) {
        if (end - offset < total) {
          // Stream the start of a large unwanted message now, the rest as it arrives.
          if (write === offset) sink.forward(chunk.subarray(runStart, end));
          else {
            if (runStart < write) sink.forward(chunk.subarray(runStart, write));
            sink.forward(chunk.subarray(offset, end));
          }
          this.streamRemaining = total - (end - offset);
          return;
        }
        if (write !== offset) chunk.copyWithin(write, offset, offset + total);
        write += total;
        offset += total;
        continue;
      }
      if (end - offset < total) break;
      // Flush before a message whose handler may write, so its writes come after the run.
      if (runStart < write && (this.untyped || this.writesDuring(type))) {
        sink.forward(chunk.subarray(runStart, write));
        runStart = write = offset;
      }
      const message = chunk.subarray(offset, offset + total);
      const verdict = sink.message(type, message);
      if (typeof verdict !== 'number') {
        if (
          verdict.buffer === message.buffer &&
          verdict.byteOffset === message.byteOffset &&
          verdict.length <= total
        ) {
          // Rewritten in place (same start, possibly shorter): still part of the run.
          if (write !== offset) chunk.copyWithin(write, offset, offset + verdict.length);
          write += verdict.length;
        } else {
          if (runStart < write) sink.forward(chunk.subarray(runStart, write));
          if (verdict.length > 0) sink.forward(verdict);
          runStart = write = offset + total;
        }
        offset += total;
        continue;
      }
      if (verdict === Verdict.Shrunk) {
        const length = Math.min(sink.shrunk ?? total, total);
        if (write !== offset) chunk.copyWithin(write, offset, offset + length);
        write += length;
        offset += total;
        continue;
      }
      if (verdict === Verdict.Pause) {
        if (runStart < write) sink.forward(chunk.subarray(runStart, write));
        this.pauseWith(message, chunk.subarray(offset + total));
        return;
      }
      if (verdict !== Verdict.Forward) {
        // Consumed: the run stops before it (the handler wrote nothing, or the run was flushed).
        if (runStart < write) sink.forward(chunk.subarray(runStart, write));
        runStart = write = offset + total;
      } else {
        if (write !== offset) chunk.copyWithin(write, offset, offset + total);
        write += total;
      }
      offset += total;
    }
    if (runStart < write)
      sink.forward(runStart === 0 && write === end ? chunk : chunk.subarray(runStart, write));

    // 3. Keep the incomplete tail.
    if (offset === end) return;
    const headerSize = this.untyped ? 4 : 5;
    if (end - offset < headerSize) {
      chunk.copy(this.header, 0, offset, end);
      this.headerLength = end - offset;
      return;
    }
    this.startSpanning(chunk.subarray(offset, end), chunk, end, sink);
  }

  /**
   * Starts a message of which we hold the first bytes `head` (at least its header) and whose
   * remaining bytes follow in `chunk` from `offset`. Returns the offset where processing
   * continues when the message completed inside `chunk`, or -1 when it needs more input
   * (or paused the stream).
   */
  private startSpanning(head: Buffer, chunk: Buffer, offset: number, sink: FrameSink): number {
    const type = this.untyped ? 0 : (head[0] as number);
    const total = this.totalLength(type, this.untyped ? head.readInt32BE(0) : head.readInt32BE(1));
    const available = chunk.length - offset;
    const take = Math.min(total - head.length, available);
    if (!this.untyped && !this.wants(type)) {
      sink.forward(head);
      if (take > 0) sink.forward(chunk.subarray(offset, offset + take));
      this.streamRemaining = total - head.length - take;
      return this.streamRemaining === 0 ? offset + take : -1;
    }
    const body = chunk.subarray(offset, offset + take);
    if (head.length + take < total) {
      this.partialParts = [head, body];
      this.partialTotal = total;
      this.partialFilled = head.length + take;
      this.partialType = type;
      return -1;
    }
    const message = Buffer.concat([head, body], total);
    return this.deliverAlone(type, message, sink, chunk.subarray(offset + take)) ? offset + take : -1;
  }

  /** Delivers a message assembled outside the chunk; returns false when the stream paused. */
  private deliverAlone(type: number, message: Buffer, sink: FrameSink, rest: Buffer): boolean {
    const verdict = sink.message(type, message);
    if (typeof verdict !== 'number') {
      if (verdict.length > 0) sink.forward(verdict);
      return true;
    }
    if (verdict === Verdict.Forward) sink.forward(message);
    else if (verdict === Verdict.Shrunk)
      sink.forward(message.subarray(0, Math.min(sink.shrunk ?? 0, message.length)));
    if (verdict !== Verdict.Pause) return true;
    this.pauseWith(message, rest);
    return false;
  }

  private pauseWith(message: Buffer, rest: Buffer): void {
    this.paused = true;
    this.held = [Buffer.concat([message, rest])];
  }

  /** Validates a length field and returns the message's size on the wire. */
  private totalLength(type: number, length: number): number {
    const total = this.untyped ? length : length + 1;
    if (length < (this.untyped ? 8 : 4) || length > MAX_MESSAGE_BYTES) {
      throw new ProtocolError(
        'bad_length',
        `invalid message length ${length}${type ? ` for message type '${String.fromCharCode(type)}'` : ''}`,
      );
    }
    return total;
  }
}
