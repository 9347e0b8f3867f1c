import {
  type AuditRecord,
  canonicalJson,
  checkRecordHash,
  GENESIS_HASH,
  parseRecordLine,
} from '../audit/record.js';
import type { AuditUploadResult } from './api.js';
import { ApiError } from './errors.js';
import type { Caller } from './grant-policy.js';
import type { Queryable } from './store.js';

/** Records per upload the broker accepts (the CLI sends 500). */
export const MAX_UPLOAD_RECORDS = 2000;

const sameIssuer = (a: string | undefined, b: string) =>
  (a ?? '').replace(/\/+$/, '') === b.replace(/\/+$/, '');

/**
 * Stores uploaded audit records append-only, each verified on arrival: its shape, its hash
 * (recomputed from `prev` and the canonical JSON), that it names the uploader (a person can only
 * send their own records), and that it links to a record the broker already has (or to an earlier
 * one of the same upload, or starts a chain) with the next `seq`. A record the broker already has
 * (same hash) is counted as a duplicate and skipped, so resending a whole file never duplicates.
 * A second, different successor of a stored record (a rewritten local chain) is refused.
 * Runs in the caller's transaction, so all of an upload is stored, or none of it.
 */
export async function ingestAudit(
  client: Queryable,
  caller: Caller,
  raw: unknown,
): Promise<AuditUploadResult> {
  const records = parseUpload(raw, caller);
  // Uploads of the same sessions take turns (a retry racing a push), in a fixed order.
  const sessions = [...new Set(records.map((r) => r.record.session))].sort();
  for (const session of sessions) {
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('jit_audit:' || $1, 0))", [session]);
  }
  return store(client, records, caller);
}

function parseUpload(raw: unknown, caller: Caller): { record: AuditRecord; line: string }[] {
  const list = (raw as { records?: unknown } | undefined)?.records;
  if (!Array.isArray(list)) throw new ApiError(400, 'bad_request', 'expected { "records": [ … ] }');
  if (list.length > MAX_UPLOAD_RECORDS) {
    throw new ApiError(413, 'too_many_records', `at most ${MAX_UPLOAD_RECORDS} records per upload`);
  }
  return list.map((value, i) => {
    const line = canonicalJson(value);
    const parsed = parseRecordLine(line);
    if (!parsed.record) throw new ApiError(400, 'bad_record', `record ${i + 1}: ${parsed.error}`);
    const { record } = parsed;
    const broken = checkRecordHash(record, line);
    if (broken) throw new ApiError(400, 'bad_record', `record ${i + 1} (seq ${record.seq}): ${broken}`);
    const who = record.identity;
    if (!who.authenticated || who.sub !== caller.sub || !sameIssuer(who.iss, caller.iss)) {
      throw new ApiError(
        403,
        'not_your_records',
        `record ${i + 1} (seq ${record.seq}) names ${who.sub}, not the uploader: records can only be sent by the identity they name`,
      );
    }
    return { record, line };
  });
}

async function store(
  client: Queryable,
  records: { record: AuditRecord; line: string }[],
  caller: Caller,
): Promise<AuditUploadResult> {
  const hashes = records.map((r) => r.record.hash);
  const prevs = records.map((r) => r.record.prev).filter((p) => p !== GENESIS_HASH);
  const { rows } = await client.query<{ hash: string; prev: string; seq: string }>(
    'SELECT hash, prev, seq FROM jit_audit WHERE hash = ANY($1) OR hash = ANY($2) OR prev = ANY($2)',
    [hashes, prevs],
  );
  const known = new Map(rows.map((r) => [r.hash, Number(r.seq)]));
  const successor = new Map(rows.filter((r) => r.prev !== GENESIS_HASH).map((r) => [r.prev, r.hash]));
  let accepted = 0;
  let duplicates = 0;
  const uploader = caller.email ?? caller.sub;
  for (const { record, line } of records) {
    if (known.has(record.hash)) {
      duplicates++;
      continue;
    }
    const where = `record seq ${record.seq} of session ${record.session}`;
    if (record.prev === GENESIS_HASH) {
      if (record.seq !== 1)
        throw new ApiError(409, 'chain_broken', `${where} starts a chain but is not seq 1`);
    } else {
      const prevSeq = known.get(record.prev);
      if (prevSeq === undefined) {
        throw new ApiError(
          409,
          'chain_gap',
          `${where} follows a record the broker does not have: send the file from its start (\`jit audit push\`)`,
        );
      }
      if (record.seq !== prevSeq + 1) {
        throw new ApiError(
          409,
          'chain_broken',
          `${where} follows seq ${prevSeq}: sequence numbers must be consecutive`,
        );
      }
      const other = successor.get(record.prev);
      if (other !== undefined && other !== record.hash) {
        throw new ApiError(
          409,
          'chain_fork',
          `${where} differs from the record the broker already holds at that place: the local chain was rewritten`,
        );
      }
    }
    await client.query(
      `INSERT INTO jit_audit (hash, prev, session, seq, ts, kind, target, sub, iss, email, decision, line, uploaded_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
        record.hash,
        record.prev,
        record.session,
        record.seq,
        record.ts,
        record.kind,
        record.target,
        record.identity.sub,
        record.identity.iss ?? null,
        record.identity.email ?? null,
        record.decision ?? null,
        line,
        uploader,
      ],
    );
    known.set(record.hash, record.seq);
    if (record.prev !== GENESIS_HASH) successor.set(record.prev, record.hash);
    accepted++;
  }
  return { accepted, duplicates };
}

/** Filters of `GET /v1/audit`. */
export interface AuditQuery {
  sub?: string;
  /** Set by the broker (not a parameter): with `sub`, limits a non-admin to their own records. */
  iss?: string;
  email?: string;
  target?: string;
  session?: string;
  decisions?: string[];
  kinds?: string[];
  since?: Date;
  until?: Date;
  limit: number;
}

/** The largest `limit` a query may ask for. */
export const MAX_QUERY_LIMIT = 10_000;

/** Parses the query string of `GET /v1/audit`; bad values are 400s naming the parameter. */
export function parseAuditQuery(params: URLSearchParams): AuditQuery {
  const text = (name: string) => {
    const value = params.get(name);
    return value === null || value === '' ? undefined : value;
  };
  const list = (name: string) =>
    text(name)
      ?.split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
  const time = (name: string) => {
    const value = text(name);
    if (value === undefined) return undefined;
    const date = new Date(value);
    if (Number.isNaN(date.getTime()))
      throw new ApiError(400, 'bad_request', `\`${name}\` must be an ISO 8601 time`);
    return date;
  };
  const limitText = text('limit');
  const limit = limitText === undefined ? 1000 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT) {
    throw new ApiError(400, 'bad_request', `\`limit\` must be an integer from 1 to ${MAX_QUERY_LIMIT}`);
  }
  const query: AuditQuery = { limit };
  const sub = text('sub');
  const email = text('email');
  const target = text('target');
  const session = text('session');
  const decisions = list('decision');
  const kinds = list('kind');
  const since = time('since');
  const until = time('until');
  if (sub !== undefined) query.sub = sub;
  if (email !== undefined) query.email = email;
  if (target !== undefined) query.target = target;
  if (session !== undefined) query.session = session;
  if (decisions !== undefined) query.decisions = decisions;
  if (kinds !== undefined) query.kinds = kinds;
  if (since !== undefined) query.since = since;
  if (until !== undefined) query.until = until;
  return query;
}

/** The newest `limit` matching records, returned oldest first, exactly as the CLI wrote them. */
export async function queryAudit(q: Queryable, query: AuditQuery): Promise<Record<string, unknown>[]> {
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    args.push(value);
    where.push(sql.replace('?', `$${args.length}`));
  };
  if (query.sub !== undefined) add('sub = ?', query.sub);
  if (query.iss !== undefined) add("rtrim(iss, '/') = rtrim(?, '/')", query.iss);
  if (query.email !== undefined) add('lower(email) = lower(?)', query.email);
  if (query.target !== undefined) add('target = ?', query.target);
  if (query.session !== undefined) add("session LIKE ? || '%'", query.session.replace(/[\\%_]/g, '\\$&'));
  if (query.decisions !== undefined) add('decision = ANY(?)', query.decisions);
  if (query.kinds !== undefined) add('kind = ANY(?)', query.kinds);
  if (query.since !== undefined) add('ts >= ?', query.since);
  if (query.until !== undefined) add('ts <= ?', query.until);
  args.push(query.limit);
  const { rows } = await q.query<{ line: string }>(
    `SELECT line FROM (
       SELECT line, ts, session, seq FROM jit_audit
        ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY ts DESC, session DESC, seq DESC LIMIT $${args.length}) AS newest
      ORDER BY ts, session, seq`,
    args,
  );
  return rows.map((r) => JSON.parse(r.line) as Record<string, unknown>);
}
