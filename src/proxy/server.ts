import net from 'node:net';
import type { ConnectionContext, ConnectionEvent } from './connection.js';
import { CancelRegistry, ClientConnection } from './connection.js';
import type { ErrorFields } from './backend/writer.js';
import { JitError } from '../util/errors.js';

/** Failure to start listening. */
export class ProxyError extends JitError {}

/** Options for one session's proxy. */
export interface ProxyServerOptions extends Omit<ConnectionContext, 'cancelKeys' | 'emit' | 'refusal'> {
  /** Port on 127.0.0.1; 0 picks a free one. */
  port: number;
  emit: (event: ConnectionEvent) => void;
}

/**
 * The loopback listener of one session: accepts clients on 127.0.0.1 only, and can end
 * every connection at once (grant expiry, revoke, session end) with a FATAL they can read.
 */
export class ProxyServer {
  private readonly server: net.Server;
  private readonly connections = new Map<number, ClientConnection>();
  private nextId = 1;
  private closedWith: ErrorFields | undefined;
  private readonly ctx: ConnectionContext;

  constructor(private readonly options: ProxyServerOptions) {
    this.ctx = {
      ...options,
      cancelKeys: new CancelRegistry(),
      emit: (event) => {
        if (event.kind === 'connection_close') this.connections.delete(event.connection);
        options.emit(event);
      },
      refusal: () => this.closedWith,
    };
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.maxConnections = 10_000;
  }

  /** Starts listening; resolves with the bound port. */
  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) =>
        reject(
          new ProxyError(
            'listen_failed',
            `cannot listen on 127.0.0.1:${this.options.port} (${error.code ?? error.message})`,
            {
              hint:
                error.code === 'EADDRINUSE' ? 'pick another --port, or omit it for a random one' : undefined,
              cause: error,
            },
          ),
        );
      this.server.once('error', onError);
      this.server.listen(this.options.port, '127.0.0.1', () => {
        this.server.removeListener('error', onError);
        const address = this.server.address() as net.AddressInfo;
        resolve({ host: '127.0.0.1', port: address.port });
      });
    });
  }

  /** Live client connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Refuses new connections and ends the live ones with `fields` (normally FATAL 57P01). */
  shutdown(fields: ErrorFields): void {
    this.closedWith ??= fields;
    for (const connection of [...this.connections.values()]) connection.terminate(fields);
  }

  /** Stops listening (after `shutdown`, or with a generic FATAL) and waits for the listener to close. */
  async close(fields?: ErrorFields): Promise<void> {
    this.shutdown(
      fields ?? {
        severity: 'FATAL',
        code: '57P01',
        message: 'jit: the session ended; the connection was closed',
      },
    );
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const id = this.nextId++;
    socket.on('error', () => {});
    this.connections.set(id, new ClientConnection(id, socket, this.ctx));
  }
}
