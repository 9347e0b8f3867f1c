/** What a policy can say about a statement's purpose; rules match on these. */
export const CATEGORIES = [
  'read',
  'write',
  'ddl',
  'temp',
  'privilege',
  'role',
  'session',
  'transaction',
  'procedural',
  'server_io',
  'utility',
] as const;
/** One of {@link CATEGORIES}. */
export type Category = (typeof CATEGORIES)[number];

/** How a statement node is named and categorised before the classifier's refinements. */
export interface StatementKind {
  /** Lowercase statement name rules match on (`drop`, `create_role`, `alter_system`, …). */
  statement: string;
  category: Category;
  /** A PostgreSQL-style command tag for messages: `DROP TABLE`, `CREATE INDEX`. */
  tag: string;
}

type Node = Record<string, unknown>;
type Kind = [statement: string, category: Category, tag: string];

/** Node types (libpg-query names) whose kind does not depend on the node's fields. */
const FIXED: Readonly<Record<string, Kind>> = {
  SelectStmt: ['select', 'read', 'SELECT'],
  InsertStmt: ['insert', 'write', 'INSERT'],
  UpdateStmt: ['update', 'write', 'UPDATE'],
  DeleteStmt: ['delete', 'write', 'DELETE'],
  MergeStmt: ['merge', 'write', 'MERGE'],
  TruncateStmt: ['truncate', 'write', 'TRUNCATE'],
  VariableShowStmt: ['show', 'read', 'SHOW'],
  DeclareCursorStmt: ['declare', 'read', 'DECLARE CURSOR'],
  ClosePortalStmt: ['close', 'utility', 'CLOSE'],
  ExplainStmt: ['explain', 'read', 'EXPLAIN'],
  ReturnStmt: ['return', 'read', 'RETURN'],
  PLAssignStmt: ['assign', 'read', 'ASSIGN'],
  // CREATE family
  CreateStmt: ['create', 'ddl', 'CREATE TABLE'],
  CreateForeignTableStmt: ['create', 'ddl', 'CREATE FOREIGN TABLE'],
  ViewStmt: ['create', 'ddl', 'CREATE VIEW'],
  IndexStmt: ['create', 'ddl', 'CREATE INDEX'],
  CreateSeqStmt: ['create', 'ddl', 'CREATE SEQUENCE'],
  CreateSchemaStmt: ['create', 'ddl', 'CREATE SCHEMA'],
  CreateFunctionStmt: ['create', 'ddl', 'CREATE FUNCTION'],
  CreateTrigStmt: ['create', 'ddl', 'CREATE TRIGGER'],
  CreateEventTrigStmt: ['create', 'ddl', 'CREATE EVENT TRIGGER'],
  CreatePolicyStmt: ['create', 'ddl', 'CREATE POLICY'],
  CreateDomainStmt: ['create', 'ddl', 'CREATE DOMAIN'],
  CompositeTypeStmt: ['create', 'ddl', 'CREATE TYPE'],
  CreateEnumStmt: ['create', 'ddl', 'CREATE TYPE'],
  CreateRangeStmt: ['create', 'ddl', 'CREATE TYPE'],
  CreateCastStmt: ['create', 'ddl', 'CREATE CAST'],
  CreateConversionStmt: ['create', 'ddl', 'CREATE CONVERSION'],
  CreateTransformStmt: ['create', 'ddl', 'CREATE TRANSFORM'],
  CreateOpClassStmt: ['create', 'ddl', 'CREATE OPERATOR CLASS'],
  CreateOpFamilyStmt: ['create', 'ddl', 'CREATE OPERATOR FAMILY'],
  CreatePLangStmt: ['create', 'ddl', 'CREATE LANGUAGE'],
  CreateAmStmt: ['create', 'ddl', 'CREATE ACCESS METHOD'],
  CreateFdwStmt: ['create', 'ddl', 'CREATE FOREIGN DATA WRAPPER'],
  CreateForeignServerStmt: ['create', 'ddl', 'CREATE SERVER'],
  CreateUserMappingStmt: ['create', 'ddl', 'CREATE USER MAPPING'],
  CreatePublicationStmt: ['create', 'ddl', 'CREATE PUBLICATION'],
  CreateSubscriptionStmt: ['create', 'ddl', 'CREATE SUBSCRIPTION'],
  CreateStatsStmt: ['create', 'ddl', 'CREATE STATISTICS'],
  CreateTableSpaceStmt: ['create', 'ddl', 'CREATE TABLESPACE'],
  CreatedbStmt: ['create', 'ddl', 'CREATE DATABASE'],
  RuleStmt: ['create', 'ddl', 'CREATE RULE'],
  CreateExtensionStmt: ['create_extension', 'ddl', 'CREATE EXTENSION'],
  ImportForeignSchemaStmt: ['import_foreign_schema', 'ddl', 'IMPORT FOREIGN SCHEMA'],
  // DROP family
  DropdbStmt: ['drop', 'ddl', 'DROP DATABASE'],
  DropTableSpaceStmt: ['drop', 'ddl', 'DROP TABLESPACE'],
  DropSubscriptionStmt: ['drop', 'ddl', 'DROP SUBSCRIPTION'],
  DropUserMappingStmt: ['drop', 'ddl', 'DROP USER MAPPING'],
  DropOwnedStmt: ['drop', 'ddl', 'DROP OWNED'],
  // ALTER family
  AlterTableMoveAllStmt: ['alter', 'ddl', 'ALTER TABLE'],
  AlterDomainStmt: ['alter', 'ddl', 'ALTER DOMAIN'],
  AlterCollationStmt: ['alter', 'ddl', 'ALTER COLLATION'],
  AlterExtensionStmt: ['alter', 'ddl', 'ALTER EXTENSION'],
  AlterExtensionContentsStmt: ['alter', 'ddl', 'ALTER EXTENSION'],
  AlterFdwStmt: ['alter', 'ddl', 'ALTER FOREIGN DATA WRAPPER'],
  AlterForeignServerStmt: ['alter', 'ddl', 'ALTER SERVER'],
  AlterUserMappingStmt: ['alter', 'ddl', 'ALTER USER MAPPING'],
  AlterPolicyStmt: ['alter', 'ddl', 'ALTER POLICY'],
  AlterEventTrigStmt: ['alter', 'ddl', 'ALTER EVENT TRIGGER'],
  AlterSeqStmt: ['alter', 'ddl', 'ALTER SEQUENCE'],
  AlterOpFamilyStmt: ['alter', 'ddl', 'ALTER OPERATOR FAMILY'],
  AlterFunctionStmt: ['alter', 'ddl', 'ALTER FUNCTION'],
  AlterOperatorStmt: ['alter', 'ddl', 'ALTER OPERATOR'],
  AlterTypeStmt: ['alter', 'ddl', 'ALTER TYPE'],
  AlterEnumStmt: ['alter', 'ddl', 'ALTER TYPE'],
  AlterStatsStmt: ['alter', 'ddl', 'ALTER STATISTICS'],
  AlterTSDictionaryStmt: ['alter', 'ddl', 'ALTER TEXT SEARCH DICTIONARY'],
  AlterTSConfigurationStmt: ['alter', 'ddl', 'ALTER TEXT SEARCH CONFIGURATION'],
  AlterPublicationStmt: ['alter', 'ddl', 'ALTER PUBLICATION'],
  AlterSubscriptionStmt: ['alter', 'ddl', 'ALTER SUBSCRIPTION'],
  AlterTableSpaceOptionsStmt: ['alter', 'ddl', 'ALTER TABLESPACE'],
  AlterDatabaseStmt: ['alter', 'ddl', 'ALTER DATABASE'],
  AlterDatabaseSetStmt: ['alter', 'ddl', 'ALTER DATABASE'],
  AlterDatabaseRefreshCollStmt: ['alter', 'ddl', 'ALTER DATABASE'],
  AlterDefaultPrivilegesStmt: ['alter', 'privilege', 'ALTER DEFAULT PRIVILEGES'],
  AlterRoleStmt: ['alter_role', 'role', 'ALTER ROLE'],
  AlterRoleSetStmt: ['alter_role', 'role', 'ALTER ROLE'],
  AlterSystemStmt: ['alter_system', 'ddl', 'ALTER SYSTEM'],
  DropRoleStmt: ['drop_role', 'role', 'DROP ROLE'],
  ReassignOwnedStmt: ['reassign_owned', 'privilege', 'REASSIGN OWNED'],
  CommentStmt: ['comment', 'ddl', 'COMMENT'],
  SecLabelStmt: ['security_label', 'ddl', 'SECURITY LABEL'],
  LoadStmt: ['load', 'ddl', 'LOAD'],
  DoStmt: ['do', 'procedural', 'DO'],
  CallStmt: ['call', 'procedural', 'CALL'],
  DiscardStmt: ['discard', 'session', 'DISCARD'],
  ConstraintsSetStmt: ['set_constraints', 'transaction', 'SET CONSTRAINTS'],
  ClusterStmt: ['cluster', 'utility', 'CLUSTER'],
  ReindexStmt: ['reindex', 'utility', 'REINDEX'],
  CheckPointStmt: ['checkpoint', 'utility', 'CHECKPOINT'],
  RefreshMatViewStmt: ['refresh', 'utility', 'REFRESH MATERIALIZED VIEW'],
  LockStmt: ['lock', 'utility', 'LOCK'],
  ListenStmt: ['listen', 'utility', 'LISTEN'],
  NotifyStmt: ['notify', 'utility', 'NOTIFY'],
  UnlistenStmt: ['unlisten', 'utility', 'UNLISTEN'],
  PrepareStmt: ['prepare', 'utility', 'PREPARE'],
  ExecuteStmt: ['execute', 'utility', 'EXECUTE'],
  DeallocateStmt: ['deallocate', 'utility', 'DEALLOCATE'],
};

/**
 * `*Stmt` node types that are parts of another statement, never statements of their own
 * (ALTER TABLE … REPLICA IDENTITY; the analyzer's SetOperationStmt; the RawStmt wrapper).
 */
export const NOT_STATEMENTS: ReadonlySet<string> = new Set([
  'RawStmt',
  'SetOperationStmt',
  'ReplicaIdentityStmt',
]);

const TRANSACTION: Readonly<Record<string, Kind>> = {
  TRANS_STMT_BEGIN: ['begin', 'transaction', 'BEGIN'],
  TRANS_STMT_START: ['begin', 'transaction', 'START TRANSACTION'],
  TRANS_STMT_COMMIT: ['commit', 'transaction', 'COMMIT'],
  TRANS_STMT_ROLLBACK: ['rollback', 'transaction', 'ROLLBACK'],
  TRANS_STMT_SAVEPOINT: ['savepoint', 'transaction', 'SAVEPOINT'],
  TRANS_STMT_RELEASE: ['release', 'transaction', 'RELEASE'],
  TRANS_STMT_ROLLBACK_TO: ['rollback', 'transaction', 'ROLLBACK TO SAVEPOINT'],
  TRANS_STMT_PREPARE: ['prepare_transaction', 'transaction', 'PREPARE TRANSACTION'],
  TRANS_STMT_COMMIT_PREPARED: ['commit_prepared', 'transaction', 'COMMIT PREPARED'],
  TRANS_STMT_ROLLBACK_PREPARED: ['rollback_prepared', 'transaction', 'ROLLBACK PREPARED'],
};

const OBJECT_NAMES: Readonly<Record<string, string>> = {
  MATVIEW: 'MATERIALIZED VIEW',
  FDW: 'FOREIGN DATA WRAPPER',
  FOREIGN_SERVER: 'SERVER',
  OPCLASS: 'OPERATOR CLASS',
  OPFAMILY: 'OPERATOR FAMILY',
  STATISTIC_EXT: 'STATISTICS',
  TABCONSTRAINT: 'CONSTRAINT',
  DOMCONSTRAINT: 'CONSTRAINT',
  LARGEOBJECT: 'LARGE OBJECT',
  TSCONFIGURATION: 'TEXT SEARCH CONFIGURATION',
  TSDICTIONARY: 'TEXT SEARCH DICTIONARY',
  TSPARSER: 'TEXT SEARCH PARSER',
  TSTEMPLATE: 'TEXT SEARCH TEMPLATE',
  DEFACL: 'DEFAULT PRIVILEGES',
};

/** `OBJECT_MATVIEW` → `MATERIALIZED VIEW`, `OBJECT_TABLE` → `TABLE`. */
export function objectName(objectType: unknown): string {
  if (typeof objectType !== 'string') return 'OBJECT';
  const bare = objectType.replace(/^OBJECT_/, '');
  return OBJECT_NAMES[bare] ?? bare.replace(/_/g, ' ');
}

/** snake_case of a node type for statements this table does not know: `FooBarStmt` → `foo_bar`. */
function snakeName(type: string): string {
  return type
    .replace(/Stmt$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

function kind([statement, category, tag]: Kind): StatementKind {
  return { statement, category, tag };
}

/**
 * The kind of a statement node, or undefined when `type` is not a statement. A statement
 * type this table does not know (a newer grammar) is treated as DDL so that the default
 * policy holds it for approval instead of letting it through unexamined.
 */
export function statementKind(type: string, node: Node): StatementKind | undefined {
  const fixed = FIXED[type];
  if (fixed) return kind(fixed);
  switch (type) {
    case 'DropStmt':
      return { statement: 'drop', category: 'ddl', tag: `DROP ${objectName(node.removeType)}` };
    case 'AlterTableStmt':
      return { statement: 'alter', category: 'ddl', tag: `ALTER ${objectName(node.objtype)}` };
    case 'RenameStmt':
      return { statement: 'alter', category: 'ddl', tag: `ALTER ${objectName(node.renameType)}` };
    case 'AlterObjectSchemaStmt':
    case 'AlterObjectDependsStmt':
    case 'AlterOwnerStmt':
      return { statement: 'alter', category: 'ddl', tag: `ALTER ${objectName(node.objectType)}` };
    case 'DefineStmt':
      return { statement: 'create', category: 'ddl', tag: `CREATE ${objectName(node.kind)}` };
    case 'CreateTableAsStmt':
      return {
        statement: 'create',
        category: 'ddl',
        tag: node.objtype === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE AS',
      };
    case 'CreateRoleStmt': {
      const what =
        node.stmt_type === 'ROLESTMT_USER' ? 'USER' : node.stmt_type === 'ROLESTMT_GROUP' ? 'GROUP' : 'ROLE';
      return { statement: 'create_role', category: 'role', tag: `CREATE ${what}` };
    }
    case 'GrantStmt':
      return node.is_grant
        ? { statement: 'grant', category: 'privilege', tag: 'GRANT' }
        : { statement: 'revoke', category: 'privilege', tag: 'REVOKE' };
    case 'GrantRoleStmt':
      return node.is_grant
        ? { statement: 'grant', category: 'role', tag: 'GRANT ROLE' }
        : { statement: 'revoke', category: 'role', tag: 'REVOKE ROLE' };
    case 'VariableSetStmt': {
      const reset = node.kind === 'VAR_RESET' || node.kind === 'VAR_RESET_ALL';
      return reset
        ? { statement: 'reset', category: 'session', tag: 'RESET' }
        : { statement: 'set', category: 'session', tag: 'SET' };
    }
    case 'TransactionStmt':
      return kind(TRANSACTION[String(node.kind)] ?? ['transaction', 'transaction', 'TRANSACTION']);
    case 'CopyStmt':
      return { statement: 'copy', category: node.is_from ? 'write' : 'read', tag: 'COPY' };
    case 'VacuumStmt':
      return node.is_vacuumcmd
        ? { statement: 'vacuum', category: 'utility', tag: 'VACUUM' }
        : { statement: 'analyze', category: 'utility', tag: 'ANALYZE' };
    case 'FetchStmt':
      return node.ismove
        ? { statement: 'move', category: 'read', tag: 'MOVE' }
        : { statement: 'fetch', category: 'read', tag: 'FETCH' };
    default:
      if (!type.endsWith('Stmt') || NOT_STATEMENTS.has(type)) return undefined;
      return { statement: snakeName(type), category: 'ddl', tag: snakeName(type).toUpperCase() };
  }
}

/** Node types whose kind depends on their fields (handled in `statementKind`'s switch). */
const BY_FIELDS: ReadonlySet<string> = new Set([
  'DropStmt',
  'AlterTableStmt',
  'RenameStmt',
  'AlterObjectSchemaStmt',
  'AlterObjectDependsStmt',
  'AlterOwnerStmt',
  'DefineStmt',
  'CreateTableAsStmt',
  'CreateRoleStmt',
  'GrantStmt',
  'GrantRoleStmt',
  'VariableSetStmt',
  'TransactionStmt',
  'CopyStmt',
  'VacuumStmt',
  'FetchStmt',
]);

/** True for statement node types this table names explicitly (not by the unknown-type fallback). */
export function isKnownStatementType(type: string): boolean {
  return Object.hasOwn(FIXED, type) || BY_FIELDS.has(type);
}

/** Every statement name the classifier can produce (for "did you mean" in policy files). */
export function knownStatementNames(): string[] {
  const names = new Set<string>(Object.values(FIXED).map(([statement]) => statement));
  for (const [statement] of Object.values(TRANSACTION)) names.add(statement);
  for (const name of ['drop', 'alter', 'create', 'create_role', 'grant', 'revoke', 'set', 'reset']) {
    names.add(name);
  }
  for (const name of ['copy', 'vacuum', 'analyze', 'fetch', 'move', 'dynamic_sql']) names.add(name);
  return [...names].sort();
}
