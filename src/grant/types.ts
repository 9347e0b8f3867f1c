import { JitError } from '../util/errors.js';

/** Raised by grant issuers and the `jit grants` admin commands; `code` is stable, `hint` says what to do. */
export class GrantError extends JitError {}

/** Who a grant is for. `name` is the short user name that goes into the role name. */
export interface Identity {
  sub: string;
  email?: string;
  name: string;
  authenticated: boolean;
  /** The issuer that verified the identity (OIDC); absent for the OS user. */
  issuer?: string;
}

/** One issued grant: a temporary login role. `password` is plaintext and lives only in jit's memory. */
export interface Grant {
  /** Equal to `role`: the role name is the grant's identifier. */
  id: string;
  role: string;
  password: string;
  /** Taken from the server's clock, so it matches the role's `VALID UNTIL`. */
  expiresAt: Date;
  target: string;
  database: string;
  session: string;
  roles: string[];
  identity: Identity;
}

/** What `issue` needs: whom, for how long, and which existing roles the temporary role joins. */
export interface IssueRequest {
  target: string;
  database: string;
  identity: Identity;
  session: string;
  ttlMs: number;
  roles: string[];
  connectionLimit: number;
}

/** Creates and ends grants: jit itself with an admin DSN (direct), or the team broker. */
export interface GrantIssuer {
  issue(req: IssueRequest, signal?: AbortSignal): Promise<Grant>;
  /** Ends the grant: no new logins, live backends terminated, role dropped. */
  revoke(grant: Pick<Grant, 'role'> & Partial<Grant>): Promise<void>;
  /** Called with a reason when the grant ends elsewhere (a broker revoke); returns a stop function. */
  watch?(grant: Grant, onEnded: (reason: string) => void): () => void;
}

/** How jit talks TLS to PostgreSQL; `ca` is a file path. Mirrors libpq's `sslmode` values that jit supports. */
export interface TlsOptions {
  mode: 'disable' | 'require' | 'verify-ca' | 'verify-full';
  ca?: string;
}

/** The admin connection settings shared by the issuer and the `jit grants` commands. */
export interface AdminOptions {
  adminUrl: string;
  tls: TlsOptions;
}

/** One jit-made role as `jit grants list` shows it. */
export interface GrantInfo {
  role: string;
  validUntil: Date | null;
  comment: string | null;
  /** Live backends of the role, from pg_stat_activity. */
  connections: number;
  /** `VALID UNTIL` has passed: the role can no longer log in. */
  expired: boolean;
  /** False once a revoke has started (`NOLOGIN`); such a role is left for `jit grants gc`. */
  login: boolean;
}
