import net from 'node:net';

/** A TCP relay in front of the proxy that keeps every byte the proxy sent to its clients. */
export interface Tap {
  port: number;
  /** Everything received from the proxy since the last `reset()`, all connections concatenated. */
  received(): Buffer;
  reset(): void;
  close(): Promise<void>;
}

/** Starts a tap on a free loopback port relaying to 127.0.0.1:`targetPort`. */
export async function startTap(targetPort: number): Promise<Tap> {
  let chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      chunks.push(Buffer.from(chunk));
      client.write(chunk);
    });
    upstream.on('end', () => client.end());
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', drop).on('error', drop);
    upstream.on('close', drop).on('error', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    received: () => Buffer.concat(chunks),
    reset: () => {
      chunks = [];
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The forms a value could leak in: as is, lowercased, base64, hex, reversed. */
export function leakForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  return [
    value,
    value.toLowerCase(),
    value.toUpperCase(),
    bytes.toString('base64'),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('hex'),
    [...value].reverse().join(''),
  ];
}

/** The seeded values (with the form they were found in) that occur in `bytes`. */
export function findLeaks(bytes: Buffer, values: readonly string[]): string[] {
  const text = bytes.toString('latin1');
  const utf8 = bytes.toString('utf8');
  const found: string[] = [];
  for (const value of values) {
    for (const form of leakForms(value)) {
      if (text.includes(form) || utf8.includes(form)) {
        found.push(form === value ? value : `${value} (as ${form})`);
        break;
      }
    }
  }
  return found;
}
