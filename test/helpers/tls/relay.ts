import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { CertFiles } from './certs.js';

/** SSLRequest: length 8, code 80877103 (https://www.postgresql.org/docs/current/protocol-message-formats.html). */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** What a relay observed. */
export interface RelayStats {
  /** Client connections that sent an SSLRequest. */
  accepted: number;
  /** Bytes the client sent after its TLS handshake (startup packet, SASL…), all forwarded upstream. */
  clientBytes: number;
  /** TLS errors on the client side (e.g. the client rejecting the relay's certificate). */
  clientErrors: string[];
}

/** A running man-in-the-middle relay. */
export interface TlsRelay {
  port: number;
  stats: RelayStats;
  close: () => Promise<void>;
}

/**
 * A man in the middle that speaks PostgreSQL's TLS negotiation on both sides: it answers the
 * client's SSLRequest with 'S', terminates the client's TLS with `cert` (its own key), then opens
 * its own TLS connection to the real server and relays the decrypted bytes both ways. A client
 * that checks the certificate chain and host name accepts it when `cert` is issued by a trusted CA;
 * only SCRAM channel binding (tls-server-end-point) lets the server notice the two TLS sessions
 * differ (https://www.postgresql.org/docs/current/sasl-authentication.html#SASL-SCRAM-SHA-256).
 */
export async function startTlsRelay(cert: CertFiles, upstreamPort: number): Promise<TlsRelay> {
  const secureContext = tls.createSecureContext({
    cert: await readFile(cert.cert),
    key: await readFile(cert.key),
  });
  const stats: RelayStats = { accepted: 0, clientBytes: 0, clientErrors: [] };
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };

  const server = net.createServer((client) => {
    track(client);
    client.on('error', () => client.destroy());
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      if (head.length < SSL_REQUEST.length) return;
      client.pause();
      client.removeListener('data', onHead);
      if (!head.equals(SSL_REQUEST)) {
        client.destroy();
        return;
      }
      stats.accepted += 1;
      client.write('S');
      terminate(client);
    };
    client.on('data', onHead);
  });

  function terminate(client: net.Socket): void {
    const secure = new tls.TLSSocket(client, { isServer: true, secureContext });
    track(secure);
    const held: Buffer[] = [];
    let upstream: tls.TLSSocket | undefined;
    secure.on('error', (error) => {
      stats.clientErrors.push(error.message);
      secure.destroy();
      upstream?.destroy();
    });
    secure.on('data', (chunk: Buffer) => {
      stats.clientBytes += chunk.length;
      if (upstream?.writable) upstream.write(chunk);
      else held.push(chunk);
    });
    secure.on('close', () => upstream?.destroy());
    secure.once('secure', () => {
      const raw = net.connect({ host: '127.0.0.1', port: upstreamPort });
      track(raw);
      raw.on('error', () => secure.destroy());
      raw.once('connect', () => raw.write(SSL_REQUEST));
      raw.once('data', (answer: Buffer) => {
        if (answer[0] !== 0x53) {
          secure.destroy();
          raw.destroy();
          return;
        }
        const up = tls.connect({ socket: raw, rejectUnauthorized: false, servername: 'localhost' }, () => {
          upstream = up;
          for (const chunk of held.splice(0)) up.write(chunk);
        });
        track(up);
        up.on('data', (chunk: Buffer) => secure.write(chunk));
        up.on('error', () => secure.destroy());
        up.on('close', () => secure.end());
      });
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
