import type net from 'node:net';
import { connectUpstream } from '../../src/proxy/backend/upstream.js';
import { parseErrorFields } from '../../src/proxy/backend/reader.js';
import { MessageFramer, Verdict } from '../../src/proxy/framer.js';

/** One backend message as the raw client saw it. */
export interface RawMessage {
  type: string;
  body: Buffer;
  /** For ErrorResponse/NoticeResponse: the fields (C, M, H…). */
  fields?: Record<string, string>;
}

function typed(type: string, body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, 'latin1');
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

/** Frontend messages for hand-built pipelines. */
export const msg = {
  query: (sql: string) => typed('Q', Buffer.from(`${sql}\0`)),
  parse: (name: string, sql: string) =>
    typed('P', Buffer.concat([Buffer.from(`${name}\0${sql}\0`), Buffer.from([0, 0])])),
  bind: (portal: string, statement: string) =>
    typed('B', Buffer.concat([Buffer.from(`${portal}\0${statement}\0`), Buffer.from([0, 0, 0, 0, 0, 0])])),
  execute: (portal: string) =>
    typed('E', Buffer.concat([Buffer.from(`${portal}\0`), Buffer.from([0, 0, 0, 0])])),
  describePortal: (portal: string) => typed('D', Buffer.from(`P${portal}\0`)),
  sync: () => typed('S', Buffer.alloc(0)),
  flush: () => typed('H', Buffer.alloc(0)),
  functionCall: (oid: number) => {
    const body = Buffer.alloc(12);
    body.writeInt32BE(oid, 0); // function OID
    body.writeInt16BE(0, 4); // no format codes
    body.writeInt16BE(0, 6); // no arguments
    body.writeInt16BE(0, 8); // result format text
    return typed('F', body.subarray(0, 10));
  },
};

/** A logged-in raw protocol connection (through the proxy) for tests that need exact message control. */
export class RawClient {
  private readonly inbox: RawMessage[] = [];
  private waiter: (() => void) | undefined;
  private readonly framer = new MessageFramer(() => true);

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) =>
      this.framer.push(chunk, {
        forward: () => {},
        message: (type, message) => {
          const t = String.fromCharCode(type);
          const body = Buffer.from(message.subarray(5));
          this.inbox.push({
            type: t,
            body,
            ...(t === 'E' || t === 'N' ? { fields: parseErrorFields(message) } : {}),
          });
          this.waiter?.();
          return Verdict.Consumed;
        },
      }),
    );
    socket.resume();
  }

  static async connect(url: string): Promise<RawClient> {
    const u = new URL(url);
    const conn = await connectUpstream(
      { host: u.hostname, port: Number(u.port), tls: { mode: 'disable' } },
      {
        user: decodeURIComponent(u.username),
        password: decodeURIComponent(u.password),
        database: u.pathname.slice(1),
        params: {},
      },
    );
    return new RawClient(conn.socket);
  }

  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages));
  }

  /** Collects messages until `count` ReadyForQuery messages arrived (or the timeout). */
  async untilReady(count = 1, timeoutMs = 10_000): Promise<RawMessage[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const readies = this.inbox.filter((m) => m.type === 'Z').length;
      if (readies >= count) {
        let seen = 0;
        const end = this.inbox.findIndex((m) => m.type === 'Z' && ++seen === count);
        return this.inbox.splice(0, end + 1);
      }
      if (Date.now() > deadline) throw new Error(`timed out; got ${this.inbox.map((m) => m.type).join('')}`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  end(): void {
    this.socket.end(typed('X', Buffer.alloc(0)));
  }
}
