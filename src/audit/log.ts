import fs from 'node:fs';
import { stat } from 'node:fs/promises';
import { makeDirs } from '../util/make-dirs.js';
import path from 'node:path';
import { errno, errorText } from './fs-errors.js';
import { acquireLock, type FileLock } from './lock.js';
import {
  AuditError,
  checkRecordHash,
  GENESIS_HASH,
  canonicalJson,
  parseRecordLine,
  sha256Hex,
  withHash,
  type AuditEvent,
  type AuditIdentity,
  type AuditRecord,
} from './record.js';

/**
 * The fault-injection seam: the two calls the writer makes per batch. Production uses `nodeIo`
 * (the real `fs.write` / `fs.fdatasync`); tests pass their own to fail a write with ENOSPC or
 * EIO, or to hold a write and observe that `flushed()` waits for it. Nothing else is injected:
 * opening, locking and the removed-file check always use the real filesystem.
 */
export interface AuditIo {
  /** Writes `data` at the end of the file (the fd is O_APPEND); resolves to the bytes written (may be short). */
  write(fd: number, data: Uint8Array): Promise<number>;
  /** Forces the file's data to stable storage (fdatasync(2)). */
  datasync(fd: number): Promise<void>;
}

/** The real filesystem. */
export const nodeIo: AuditIo = {
  write: (fd, data) =>
    new Promise((resolve, reject) =>
      fs.write(fd, data, 0, data.length, null, (error, written) =>
        error ? reject(error) : resolve(written),
      ),
    ),
  datasync: (fd) =>
    new Promise((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve()))),
};

/** How `AuditLog.open` writes. */
export interface AuditLogOptions {
  /** `sync`: `flushed()` resolves only after fdatasync — a statement's result waits for its record. */
  durability: 'async' | 'sync';
  /** The clock for `ts` (injectable for tests). */
  now?: () => Date;
  /** Fault-injection seam (see `AuditIo`); the real filesystem when omitted. */
  io?: AuditIo;
}

/**
 * In async durability, how long records may gather before they are written: one write (and at
 * most one file check) per interval instead of a thread-pool round trip per event-loop turn,
 * which on a small machine costs the proxy half its throughput. It bounds what a crash can lose.
 */
const ASYNC_BATCH_MS = 10;
/** Write at once when this much is queued, whatever the interval. */
const ASYNC_BATCH_BYTES = 256 * 1024;
/** How often the writer checks that its file was not removed or replaced. */
const FILE_CHECK_MS = 1_000;

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (error: AuditError) => void;
}

/**
 * Append-only, hash-chained JSONL writer for one file (see `record.ts` for the record and its
 * canonical form). `append` does the CPU work synchronously — the chain order is the call
 * order — and queues the line; a drain loop writes everything queued so far in one write
 * (group commit: at most one write in flight, never a syscall per record), then fdatasyncs in
 * `sync` mode, then checks the file is still the one it opened. Any failure is final: the
 * listeners hear about it once and `append` throws from then on, so a session never runs
 * unaudited.
 */
export class AuditLog {
  readonly path: string;
  private readonly fd: number;
  private readonly lock: FileLock;
  private readonly durability: 'async' | 'sync';
  private readonly now: () => Date;
  private readonly io: AuditIo;
  /** Identity of the opened file, to notice it being removed or replaced. */
  private readonly ino: number;
  private readonly dev: number;
  private seq: number;
  private prev: string;
  private pending: string[] = [];
  /** Characters queued in `pending` (a cheap stand-in for bytes). */
  private pendingChars = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastFileCheck = 0;
  /** Highest seq written (and synced in sync mode). */
  private doneSeq: number;
  private draining = false;
  private scheduled = false;
  private waiters: Waiter[] = [];
  private failure: AuditError | undefined;
  private listeners: ((error: AuditError) => void)[] = [];
  private readonly recordListeners: ((record: AuditRecord) => void)[] = [];
  private closing: Promise<void> | undefined;
  /** `ts` of the current second, `yyyy-mm-ddTHH:MM:SS.`, to skip most of `toISOString`. */
  private second = Number.NaN;
  private secondPrefix = '';
  private readonly drainSoon = (): void => void this.drain();
  /** The last identity seen, sorted and as JSON (a session appends for one identity). */
  private identityCache: { of: AuditIdentity; sorted: AuditIdentity; json: string } | undefined;

  private constructor(init: {
    path: string;
    fd: number;
    lock: FileLock;
    options: AuditLogOptions;
    ino: number;
    dev: number;
    seq: number;
    prev: string;
  }) {
    this.path = init.path;
    this.fd = init.fd;
    this.lock = init.lock;
    this.durability = init.options.durability;
    this.now = init.options.now ?? (() => new Date());
    this.io = init.options.io ?? nodeIo;
    this.ino = init.ino;
    this.dev = init.dev;
    this.seq = init.seq;
    this.doneSeq = init.seq;
    this.prev = init.prev;
  }

  /**
   * Opens (creates 0600, parent dirs 0700) and takes the exclusive lock `<path>.lock` (see
   * `acquireLock`: a live holder → AuditError('locked') naming its pid; a dead one's lock is
   * taken over). If the file has records, its last line must parse and its hash recompute; the
   * chain continues from it (seq, prev). A broken tail → AuditError('broken_chain') naming the
   * line, rather than appending to a corrupt log.
   */
  static async open(file: string, options: AuditLogOptions): Promise<AuditLog> {
    await makeDirs(path.dirname(file), 0o700).catch((error: unknown) => {
      throw openError(file, error);
    });
    const lock = await acquireLock(file);
    let fd: number | undefined;
    try {
      fd = await new Promise<number>((resolve, reject) =>
        fs.open(file, 'a+', 0o600, (error, opened) => (error ? reject(error) : resolve(opened))),
      ).catch((error: unknown) => {
        throw openError(file, error);
      });
      const info = fs.fstatSync(fd);
      const tail = readTail(file, fd, info.size);
      return new AuditLog({ path: file, fd, lock, options, ino: info.ino, dev: info.dev, ...tail });
    } catch (error) {
      if (fd !== undefined) fs.closeSync(fd);
      await lock.release();
      throw error;
    }
  }

  /**
   * Stamps ts/seq/prev/hash synchronously (the chain order is the call order) and queues the
   * line; returns the record as written. On the proxy's hot path: no I/O, one sha256.
   * Throws AuditError('write_failed') once a write has failed, AuditError('closed') after close.
   */
  append(event: AuditEvent): AuditRecord {
    if (this.failure) throw this.failure;
    if (this.closing) throw new AuditError('closed', `audit log ${this.path} is closed`);
    const seq = this.seq + 1;
    const { detail } = event;
    checkNumbers(event);
    const identity = this.sortedIdentity(event.identity);
    // Keys in sorted order, `hash` in its place but undefined for now (what JSON.stringify of it
    // would write is canonical JSON: it keeps insertion order and drops undefined members).
    const record: Omit<AuditRecord, 'hash'> & { hash?: string } = {
      approver: event.approver,
      connection: event.connection,
      decision: event.decision,
      detail,
      duration_ms: event.duration_ms,
      fingerprint: event.fingerprint,
      grant: event.grant ?? null,
      hash: undefined,
      identity: identity.sorted,
      kind: event.kind,
      masked: event.masked,
      prev: this.prev,
      reason: event.reason,
      rows: event.rows,
      rule: event.rule,
      seq,
      session: event.session,
      sql: event.sql,
      sqlstate: event.sqlstate,
      target: event.target,
      ts: this.timestamp(),
    };
    let line: string;
    let hash: string;
    if (detail === undefined) {
      // The usual record (a statement): written by hand in two halves around `hash`, with the
      // identity's JSON cached. `detail` is free-form (its keys may not be in order), so a
      // record with one goes through canonicalJson. A test checks both against canonicalJson.
      const [head, tail] = plainJson(record, identity.json);
      hash = sha256Hex(record.prev + head + tail);
      line = `${head},"hash":"${hash}"${tail}\n`;
    } else {
      const canonical = detailedJson(record);
      hash = sha256Hex(record.prev + canonical);
      line = `${withHash(canonical, hash, true)}\n`;
    }
    this.pending.push(line);
    this.pendingChars += line.length;
    record.hash = hash;
    this.seq = seq;
    this.prev = hash;
    this.schedule(this.durability === 'sync' || this.pendingChars >= ASYNC_BATCH_BYTES);
    for (const listener of this.recordListeners) listener(record as AuditRecord);
    return record as AuditRecord;
  }

  /**
   * `listener` sees every record as it is appended (the live view's feed, the broker shipper).
   * It runs on the proxy's hot path, so it must only queue.
   */
  onRecord(listener: (record: AuditRecord) => void): void {
    this.recordListeners.push(listener);
  }

  /**
   * Resolves when every record appended so far is written (async) or written and fdatasync'ed
   * (sync). Rejects with the AuditError if the log failed first.
   */
  flushed(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.doneSeq >= this.seq) return Promise.resolve();
    const waiting = new Promise<void>((resolve, reject) =>
      this.waiters.push({ seq: this.seq, resolve, reject }),
    );
    this.schedule(true); // someone is waiting: don't let the batch interval delay them
    return waiting;
  }

  /** Arranges a drain: on the next turn when `now`, else after the async batch interval. */
  private schedule(now: boolean): void {
    if (this.draining) return;
    if (now) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.drainSoon);
      }
      return;
    }
    if (this.scheduled || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drainSoon();
    }, ASYNC_BATCH_MS);
  }

  /**
   * `listener` is called once, when a write fails (disk full, EIO, file removed or replaced):
   * the session must stop. Registered after a failure, it is called on the next microtask.
   */
  onFailure(listener: (error: AuditError) => void): void {
    const failure = this.failure;
    if (failure) queueMicrotask(() => listener(failure));
    else this.listeners.push(listener);
  }

  /**
   * Flushes, fdatasyncs, closes the file and releases the lock. Always releases; rejects with
   * the failure if some appended record could not be written (data loss is never silent).
   * Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.flushed();
        if (this.durability === 'async') {
          await this.io.datasync(this.fd).catch((error: unknown) => {
            throw this.fail(error);
          });
        }
      } finally {
        await new Promise<void>((resolve) => fs.close(this.fd, () => resolve()));
        await this.lock.release();
      }
    })();
    return this.closing;
  }

  /** The identity with its keys in sorted order, and its JSON; cached for the last one seen. */
  private sortedIdentity(identity: AuditIdentity): { sorted: AuditIdentity; json: string } {
    const cached = this.identityCache;
    if (cached?.of === identity && sameIdentity(cached.sorted, identity)) return cached;
    const sorted = Object.freeze(sortedIdentity(identity));
    const entry = { of: identity, sorted, json: JSON.stringify(sorted) };
    this.identityCache = entry;
    return entry;
  }

  /** ISO 8601 UTC with milliseconds (what `toISOString` gives), cheaper within one second. */
  private timestamp(): string {
    const ms = this.now().getTime();
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      if (!Number.isFinite(ms) || ms < 0 || ms >= 253402300800000) return new Date(ms).toISOString();
      this.second = second;
      this.secondPrefix = new Date(second * 1000).toISOString().slice(0, 20);
    }
    const milli = ms - second * 1000;
    return `${this.secondPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
  }

  /** Writes everything queued, batch after batch, until the queue is empty. */
  private async drain(): Promise<void> {
    this.scheduled = false;
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.pending.length > 0 && !this.failure) {
        const batch = Buffer.from(this.pending.join(''), 'utf8');
        const upTo = this.seq;
        this.pending = [];
        this.pendingChars = 0;
        try {
          await this.writeAll(batch);
          if (this.durability === 'sync') await this.io.datasync(this.fd);
          await this.checkStillThere();
        } catch (error) {
          this.fail(error);
          return;
        }
        this.doneSeq = upTo;
        this.settle();
        // Async with nobody waiting: let the next batch gather for an interval.
        if (this.durability === 'async' && this.waiters.length === 0 && this.pendingChars < ASYNC_BATCH_BYTES)
          break;
      }
    } finally {
      this.draining = false;
    }
    if (this.pending.length > 0 && !this.failure)
      this.schedule(this.durability === 'sync' || this.waiters.length > 0);
  }

  private async writeAll(data: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const written = await this.io.write(this.fd, data.subarray(offset));
      if (!(written > 0)) throw new Error(`the write made no progress (${written} bytes)`);
      offset += written;
    }
  }

  /**
   * Writes into an unlinked or replaced file succeed but reach no one: treat that as a failure.
   * For every batch someone awaits (sync mode, close); otherwise at most one stat a second.
   */
  private async checkStillThere(): Promise<void> {
    const now = Date.now();
    // Whoever awaits flushed() (every statement in sync mode, close) gets a fresh check.
    if (now - this.lastFileCheck < FILE_CHECK_MS && !this.closing && this.waiters.length === 0) return;
    this.lastFileCheck = now;
    let info: fs.Stats;
    try {
      info = await stat(this.path);
    } catch (error) {
      throw errno(error) === 'ENOENT' ? new FileGoneError('the file was removed', { cause: error }) : error;
    }
    if (info.ino !== this.ino || info.dev !== this.dev) throw new FileGoneError('the file was replaced');
  }

  private settle(): void {
    const still: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.seq <= this.doneSeq) waiter.resolve();
      else still.push(waiter);
    }
    this.waiters = still;
  }

  /** Records the first failure, rejects every waiter, tells every listener once. */
  private fail(error: unknown): AuditError {
    if (this.failure) return this.failure;
    const why = error instanceof FileGoneError ? error.message : errorText(error);
    const failure = new AuditError(
      'write_failed',
      `cannot write the audit log ${this.path}: ${why}; stopping the session rather than running unaudited`,
      { cause: error, hint: 'check free space and permissions of the audit directory' },
    );
    this.failure = failure;
    this.pending = [];
    for (const waiter of this.waiters.splice(0)) waiter.reject(failure);
    // Each on its own microtask: one throwing listener cannot keep the others from hearing.
    for (const listener of this.listeners.splice(0)) queueMicrotask(() => listener(failure));
    return failure;
  }
}

/** canonicalJson for a record with a `detail`, whose values might have no JSON form. */
function detailedJson(record: object): string {
  try {
    return canonicalJson(record);
  } catch (error) {
    throw new AuditError('bad_event', `audit \`detail\` is not JSON data: ${(error as Error).message}`);
  }
}

/** Numbers must be finite: JSON would silently turn NaN into null. */
function checkNumbers(event: AuditEvent): void {
  // Three plain reads (a keyed loop over the names is a megamorphic lookup per record).
  checkNumber('connection', event.connection);
  checkNumber('duration_ms', event.duration_ms);
  checkNumber('rows', event.rows);
}

function checkNumber(key: string, value: number | undefined): void {
  if (value !== undefined && !Number.isFinite(value)) {
    throw new AuditError('bad_event', `audit field \`${key}\` must be a finite number (got ${value})`);
  }
}

/** The path no longer names the file the log opened. */
class FileGoneError extends Error {}

function openError(file: string, error: unknown): AuditError {
  return new AuditError('open_failed', `cannot open the audit log ${file}: ${errorText(error)}`, {
    cause: error,
    hint: 'pass --audit-log FILE in a writable directory, or set JIT_AUDIT_DIR',
  });
}

const CHUNK = 64 * 1024;

/**
 * Reads and checks the last line of an open file: it must end with a newline, parse, and its
 * hash must recompute. Returns where the chain continues.
 */
function readTail(file: string, fd: number, size: number): { seq: number; prev: string } {
  if (size === 0) return { seq: 0, prev: GENESIS_HASH };
  const last = readAt(fd, size - 1, 1);
  if (last[0] !== 0x0a) {
    throw brokenTail(file, fd, size, 1, 'the last line is incomplete (no trailing newline)');
  }
  // Scan back for the newline before the last line.
  const chunks: Buffer[] = [];
  let end = size - 1;
  let start = -1;
  while (end > 0 && start < 0) {
    const from = Math.max(0, end - CHUNK);
    const chunk = readAt(fd, from, end - from);
    const nl = chunk.lastIndexOf(0x0a);
    if (nl >= 0) {
      start = from + nl + 1;
      chunks.unshift(chunk.subarray(nl + 1));
    } else {
      chunks.unshift(chunk);
    }
    end = from;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw brokenTail(file, fd, size, 0, 'the last line is not valid UTF-8');
  }
  const parsed = parseRecordLine(text);
  const problem = parsed.error ?? checkRecordHash(parsed.record, text);
  if (problem !== undefined || !parsed.record) throw brokenTail(file, fd, size, 0, problem ?? '');
  return { seq: parsed.record.seq, prev: parsed.record.hash };
}

function brokenTail(file: string, fd: number, size: number, extra: number, reason: string): AuditError {
  const line = countNewlines(fd, size) + extra;
  return new AuditError(
    'broken_chain',
    `audit log ${file} is broken at line ${line}: ${reason}; not appending to a corrupt log`,
    { hint: `run \`jit audit verify ${file}\`, then move the file aside to start a new one` },
  );
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return buffer.subarray(0, done);
}

function countNewlines(fd: number, size: number): number {
  let count = 0;
  for (let position = 0; position < size; position += CHUNK) {
    const chunk = readAt(fd, position, Math.min(CHUNK, size - position));
    for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) count++;
  }
  return count;
}

/** The cached sorted copy still says what `identity` says (a caller might have changed it). */
function sameIdentity(sorted: AuditIdentity, identity: AuditIdentity): boolean {
  return (
    sorted.sub === identity.sub &&
    sorted.email === identity.email &&
    sorted.iss === identity.iss &&
    sorted.authenticated === (identity.authenticated === true)
  );
}

/**
 * Canonical JSON of a record without `detail`, split where `hash` goes: the part before it
 * (up to `grant`) and the part after it (from `identity`). Same text as JSON.stringify of the
 * record, written field by field (this is the proxy's hot path).
 */
function plainJson(record: Omit<AuditRecord, 'hash'>, identityJson: string): [string, string] {
  let head = '{';
  if (record.approver !== undefined) head += `"approver":${quote(record.approver)},`;
  if (record.connection !== undefined) head += `"connection":${record.connection},`;
  if (record.decision !== undefined) head += `"decision":${quote(record.decision)},`;
  if (record.duration_ms !== undefined) head += `"duration_ms":${decimal(record.duration_ms)},`;
  if (record.fingerprint !== undefined) head += `"fingerprint":${quote(record.fingerprint)},`;
  head += `"grant":${record.grant === null ? 'null' : quote(record.grant)}`;
  let tail = `,"identity":${identityJson},"kind":${quote(record.kind)}`;
  if (record.masked !== undefined) tail += `,"masked":${JSON.stringify(record.masked)}`;
  tail += `,"prev":"${record.prev}"`;
  if (record.reason !== undefined) tail += `,"reason":${quote(record.reason)}`;
  if (record.rows !== undefined) tail += `,"rows":${record.rows}`;
  if (record.rule !== undefined) tail += `,"rule":${quote(record.rule)}`;
  tail += `,"seq":${record.seq},"session":${quote(record.session)}`;
  if (record.sql !== undefined) tail += `,"sql":${quote(record.sql)}`;
  if (record.sqlstate !== undefined) tail += `,"sqlstate":${quote(record.sqlstate)}`;
  tail += `,"target":${quote(record.target)},"ts":"${record.ts}"}`;
  return [head, tail];
}

/** JSON strings of short texts seen lately (the same SQL, rule and target recur on every statement). */
const quoted = new Map<string, string>();
const QUOTED_MAX_ENTRIES = 512;
const QUOTED_MAX_LENGTH = 256;

/** JSON.stringify of a string, from `quoted` when it was seen lately. */
function quote(text: string): string {
  let json = quoted.get(text);
  if (json === undefined) {
    json = JSON.stringify(text);
    if (text.length <= QUOTED_MAX_LENGTH) {
      if (quoted.size >= QUOTED_MAX_ENTRIES) quoted.clear();
      quoted.set(text, json);
    }
  }
  return json;
}

/**
 * A number as JSON writes it. Durations are whole microseconds (k / 1000): their shortest
 * round-trip form is the decimal k/1000 itself, written here without the generic (slow)
 * double-to-shortest conversion. Anything else goes to String(), which JSON uses too.
 */
function decimal(value: number): string {
  const micros = Math.round(value * 1000);
  if (!(micros >= 0 && micros < 1e12 && micros / 1000 === value)) return String(value);
  const whole = Math.floor(micros / 1000);
  let fraction = micros - whole * 1000;
  if (fraction === 0) return String(whole);
  let digits = fraction < 10 ? '00' : fraction < 100 ? '0' : '';
  while (fraction % 10 === 0) fraction /= 10;
  digits += String(fraction);
  return `${whole}.${digits}`;
}

/** The identity with its keys in sorted order (the canonical JSON needs no generic sort). */
function sortedIdentity(identity: AuditIdentity): AuditIdentity {
  return {
    authenticated: identity.authenticated === true,
    ...(identity.email !== undefined && { email: identity.email }),
    ...(identity.iss !== undefined && { iss: identity.iss }),
    sub: identity.sub,
  };
}
