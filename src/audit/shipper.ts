import { rm, writeFile } from 'node:fs/promises';
import type { BrokerClient } from '../grant/broker-client.js';
import { readRecords } from './read.js';
import type { AuditRecord } from './record.js';

/** Records per upload. */
const BATCH = 500;
/** How often queued records go to the broker. */
const INTERVAL_MS = 1000;
/** Past this many queued records (a long outage) the queue is dropped: the whole file is resent later. */
const MAX_QUEUE = 50_000;

/** The marker next to an audit file whose records may not all have reached the broker. */
export function unsentMarker(auditFile: string): string {
  return `${auditFile}.unsent`;
}

/**
 * Streams a session's audit records to the broker as they are written. The local file stays the
 * record of truth: while the broker cannot be reached, records queue here, and a marker file
 * (`<audit file>.unsent`) says the file must be sent again; the next broker-mode session (or `jit audit push`) resends the whole
 * file later, and the broker ignores records it already has, so every record arrives exactly once.
 */
export class AuditShipper {
  private queue: Record<string, unknown>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private failed = false;
  private markerWritten = false;
  private overflowed = false;

  /** `auditFile`: the session's file (known once the session started), for its unsent marker. */
  constructor(
    private readonly client: BrokerClient,
    private readonly auditFile: () => string | undefined,
  ) {}

  /** For `AuditLog.onRecord`: queues only. */
  readonly add = (record: AuditRecord): void => {
    if (this.queue.length >= MAX_QUEUE) {
      // The file has every record: keep memory bounded and resend it whole at the end.
      this.queue = [];
      this.overflowed = true;
    }
    this.queue.push(record as unknown as Record<string, unknown>);
    this.timer ??= setTimeout(() => void this.send(), INTERVAL_MS);
  };

  /** Sends what is queued; on failure keeps it and marks the file unsent. */
  async send(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.sending;
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0, BATCH);
    this.sending = (async () => {
      try {
        await this.client.uploadAudit(batch);
      } catch {
        this.queue.unshift(...batch);
        this.failed = true;
        const file = this.auditFile();
        if (!this.markerWritten && file) {
          this.markerWritten = true;
          await writeFile(unsentMarker(file), '').catch(() => {});
        }
      }
    })();
    await this.sending;
    if (this.queue.length > 0 && !this.failed) await this.send();
  }

  /**
   * At the session's end (after the log is closed): one last try. Returns how many records did not
   * reach the broker (0 when all did; the marker is then removed).
   */
  async finish(): Promise<number> {
    const file = this.auditFile();
    this.failed = false;
    await this.send();
    if (!file) return this.queue.length;
    if (this.queue.length > 0) {
      await writeFile(unsentMarker(file), '').catch(() => {});
      return this.queue.length;
    }
    if (this.markerWritten || this.overflowed) {
      // Some uploads failed earlier: resend the whole file (duplicates are ignored) before clearing.
      const sent = await pushFile(this.client, file).then(
        () => true,
        () => false,
      );
      if (!sent) return 1;
    }
    await rm(unsentMarker(file), { force: true });
    return 0;
  }
}

/** What `pushFile` sent: records read from the file, and how the broker took them. */
export interface PushResult {
  records: number;
  /** Stored now. */
  accepted: number;
  /** Already stored (sent earlier), so ignored. */
  duplicates: number;
}

/**
 * Uploads every record of an audit file in batches (the broker skips those it has) and removes the
 * file's unsent marker. Returns the counts summed over the batches; throws when the broker refuses
 * or cannot be reached (the marker then stays).
 */
export async function pushFile(client: BrokerClient, file: string): Promise<PushResult> {
  const result: PushResult = { records: 0, accepted: 0, duplicates: 0 };
  const upload = async (batch: Record<string, unknown>[]): Promise<void> => {
    const answer = await client.uploadAudit(batch);
    result.records += batch.length;
    result.accepted += answer.accepted;
    result.duplicates += answer.duplicates;
  };
  let batch: Record<string, unknown>[] = [];
  for await (const line of readRecords(file)) {
    if (!line.text || !line.record) continue;
    batch.push(JSON.parse(line.text) as Record<string, unknown>);
    if (batch.length >= BATCH) {
      await upload(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await upload(batch);
  await rm(unsentMarker(file), { force: true });
  return result;
}
