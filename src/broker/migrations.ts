import type pg from 'pg';

/**
 * The broker's schema, one step per version, applied in order and recorded in
 * `jit_broker_migrations`. Never edit a released step: add the next one.
 */
const STEPS: readonly string[] = [
  // 1: grants, held statements, audit records.
  `
  CREATE TABLE jit_grants (
    id text PRIMARY KEY,
    status text NOT NULL,
    target text NOT NULL,
    roles text[] NOT NULL,
    ttl_seconds integer NOT NULL,
    reason text NOT NULL,
    session text NOT NULL,
    requester jsonb NOT NULL,
    requester_iss text NOT NULL,
    requester_sub text NOT NULL,
    rule text NOT NULL,
    approval_required boolean NOT NULL,
    approver_groups text[] NOT NULL,
    decided_by text,
    decision_reason text,
    decided_at timestamptz,
    role text,
    expires_at timestamptz,
    issued_at timestamptz,
    heartbeat_at timestamptz,
    ended_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX jit_grants_status ON jit_grants (status);
  CREATE TABLE jit_holds (
    id text PRIMARY KEY,
    grant_id text NOT NULL REFERENCES jit_grants (id),
    status text NOT NULL,
    sql text NOT NULL,
    rule text,
    reason text NOT NULL,
    fingerprint text NOT NULL,
    connection integer NOT NULL,
    deadline timestamptz NOT NULL,
    scope text,
    decided_by text,
    decision_reason text,
    decided_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX jit_holds_status ON jit_holds (status);
  CREATE TABLE jit_audit (
    hash text PRIMARY KEY,
    prev text NOT NULL,
    session text NOT NULL,
    seq bigint NOT NULL,
    ts timestamptz NOT NULL,
    kind text NOT NULL,
    target text NOT NULL,
    sub text NOT NULL,
    iss text,
    email text,
    decision text,
    line text NOT NULL,
    uploaded_by text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
  );
  -- One successor per record: a rewritten local chain cannot be sent again as a second branch.
  CREATE UNIQUE INDEX jit_audit_successor ON jit_audit (prev)
    WHERE prev <> '0000000000000000000000000000000000000000000000000000000000000000';
  CREATE INDEX jit_audit_ts ON jit_audit (ts);
  CREATE INDEX jit_audit_sub_ts ON jit_audit (sub, ts);
  CREATE INDEX jit_audit_target_ts ON jit_audit (target, ts);
  CREATE INDEX jit_audit_session ON jit_audit (session);
  -- Append-only: stored records are never changed or removed through the broker's role.
  CREATE FUNCTION jit_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'jit_audit is append-only'; END $$;
  CREATE TRIGGER jit_audit_append_only BEFORE UPDATE OR DELETE ON jit_audit
    FOR EACH ROW EXECUTE FUNCTION jit_audit_append_only();
  `,
];

/** The schema version this build of the broker needs. */
export const SCHEMA_VERSION = STEPS.length;

/** Arbitrary, fixed key of the advisory lock that serializes migrations across replicas. */
const MIGRATION_LOCK = 0x6a69_7401;

/**
 * Brings the state database to SCHEMA_VERSION. Replicas starting together take turns (a
 * transaction-scoped advisory lock); each step runs in that transaction, so a failure leaves the
 * previous version intact. Refuses a database newer than this build.
 */
export async function migrate(client: pg.ClientBase): Promise<{ from: number; to: number }> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS jit_broker_migrations (
         version integer PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const from = await currentVersion(client);
    if (from > SCHEMA_VERSION) {
      throw new Error(
        `the state database is at schema version ${from}, newer than this broker (${SCHEMA_VERSION}): upgrade jit`,
      );
    }
    for (let version = from + 1; version <= SCHEMA_VERSION; version++) {
      await client.query(STEPS[version - 1] as string);
      await client.query('INSERT INTO jit_broker_migrations (version) VALUES ($1)', [version]);
    }
    await client.query('COMMIT');
    return { from, to: SCHEMA_VERSION };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** The highest applied version (0 for an empty database). */
export async function currentVersion(client: pg.ClientBase): Promise<number> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass('jit_broker_migrations') AS t");
  if (!exists.rows[0]?.t) return 0;
  const { rows } = await client.query<{ v: number | null }>(
    'SELECT coalesce(max(version), 0) AS v FROM jit_broker_migrations',
  );
  return Number(rows[0]?.v ?? 0);
}
