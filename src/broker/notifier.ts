import pg from 'pg';

/** The channel every replica listens on; payloads are `grant:<id>`, `hold:<id>` or `queue`. */
export const CHANNEL = 'jit_broker';

/** How long to wait before reconnecting a lost LISTEN connection. */
const RECONNECT_MS = 1000;

/**
 * Wakes long-polls on this replica when any replica changes a grant, a hold or the approval
 * queue: one LISTEN connection to the state database (PostgreSQL delivers a NOTIFY to every
 * listener when the changing transaction commits). If the connection drops, every waiter is woken
 * (it re-reads the database) and the connection is made again.
 * https://www.postgresql.org/docs/current/sql-notify.html
 */
export class Notifier {
  private readonly waiters = new Map<string, Set<() => void>>();
  private client: pg.Client | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly config: pg.ClientConfig,
    private readonly log: (level: 'warn' | 'info', msg: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** Connects and listens; throws when the first connection fails. */
  static async start(config: pg.ClientConfig, log: Notifier['log']): Promise<Notifier> {
    const notifier = new Notifier(config, log);
    await notifier.connect();
    return notifier;
  }

  /**
   * A promise that resolves at the next notification for `key` (or when the LISTEN connection is
   * lost), and a function that drops the wait. Register before reading the state, so a change
   * between the read and the wait is not missed.
   */
  next(key: string): { woken: Promise<void>; cancel: () => void } {
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => {
      wake = resolve;
    });
    let set = this.waiters.get(key);
    if (!set) this.waiters.set(key, (set = new Set()));
    set.add(wake);
    const cancel = () => {
      set.delete(wake);
      if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
    };
    return { woken: woken.then(cancel), cancel };
  }

  /** True once closed (the replica is shutting down): long-polls answer at once. */
  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.wakeAll();
    await this.client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload) this.wake(message.payload);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, undefined));
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.client = client;
  }

  private lost(client: pg.Client, error: Error | undefined): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.wakeAll();
    if (this.closed) return;
    this.log('warn', 'state database LISTEN connection lost; reconnecting', {
      error: error?.message ?? 'closed',
    });
    const retry = () => {
      this.reconnectTimer = undefined;
      if (this.closed) return;
      this.connect().then(
        () => {
          this.log('info', 'state database LISTEN connection restored');
          this.wakeAll();
        },
        () => {
          this.reconnectTimer = setTimeout(retry, RECONNECT_MS);
        },
      );
    };
    this.reconnectTimer = setTimeout(retry, RECONNECT_MS);
  }

  private wake(key: string): void {
    const set = this.waiters.get(key);
    if (!set) return;
    this.waiters.delete(key);
    for (const wake of set) wake();
  }

  private wakeAll(): void {
    const all = [...this.waiters.values()];
    this.waiters.clear();
    for (const set of all) for (const wake of set) wake();
  }
}

/** Queues a notification inside the caller's transaction (sent at COMMIT). */
export async function notify(client: pg.ClientBase, ...keys: string[]): Promise<void> {
  for (const key of keys) await client.query('SELECT pg_notify($1, $2)', [CHANNEL, key]);
}
