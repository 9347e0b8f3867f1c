import { CopyOutMasker, type ColumnMask } from '../../policy/mask/copy-out.js';
import type { Detectors } from '../../policy/mask/detectors.js';
import type {
  CopyLineage,
  MaskSpec,
  ResultLineage,
  Source,
  StatementLineage,
} from '../../policy/mask/types.js';
import { valueKind, type ValueKind, type ValueMasker } from '../../policy/mask/values.js';
import { shapeKey } from '../../policy/shape-key.js';
import { Verdict } from '../framer.js';
import {
  parseBind,
  parseBindResultFormats,
  parseExecute,
  parseParse,
  parseQuery,
  parseTarget,
} from '../frontend/extended.js';
import { ProtocolError } from '../protocol-error.js';
import type { Sensitive, Sensitivity } from './sensitivity.js';

/** What the lineage cache knows about one SQL text: each top-level statement's lineage and node type. */
export interface AnalyzedSql {
  statements: StatementLineage[];
  /** libpg-query node type of each top-level statement (`SelectStmt`, `ExplainStmt`, …). */
  kinds: string[];
}

/** Session-wide masking state shared by every connection's masker. */
export interface MaskContext {
  sensitivity: Sensitivity;
  detectors: Detectors;
  values: ValueMasker;
  /** Lineage of a SQL text (cached by shape); undefined when it does not parse. */
  analyze(sql: string): AnalyzedSql | undefined;
}

/** How the masker continues a stream it paused for a catalog lookup. */
export interface MaskControl {
  resumeUpstream(): void;
  fail(error: unknown): void;
}

/** One result column, independent of the format it is sent in. */
interface Column {
  typeOid: number;
  sensitive: Sensitive | null;
}

/** How the rows of one result are masked, for its formats. */
class RowPlan {
  readonly masks: (MaskSpec | undefined)[];
  readonly kinds: ValueKind[];
  readonly detect: boolean[];
  readonly origins: (string | undefined)[];
  readonly counts: number[];
  readonly active: boolean;
  /** In the masker's touched set (its counts are waiting to be taken). */
  touched = false;

  constructor(
    readonly columns: readonly Column[],
    formats: readonly number[],
    detectors: Detectors,
  ) {
    const n = columns.length;
    this.masks = new Array<MaskSpec | undefined>(n);
    this.kinds = new Array<ValueKind>(n);
    this.detect = new Array<boolean>(n);
    this.origins = new Array<string | undefined>(n);
    this.counts = new Array<number>(n).fill(0);
    let active = false;
    for (let i = 0; i < n; i++) {
      const column = columns[i] as Column;
      const format =
        formats.length === 0 ? 0 : formats.length === 1 ? (formats[0] as number) : (formats[i] ?? 0);
      const kind = valueKind(column.typeOid, format);
      this.kinds[i] = kind;
      const sensitive = column.sensitive;
      this.masks[i] =
        sensitive?.derived && sensitive.spec.strategy === 'partial'
          ? { strategy: 'redact', label: sensitive.spec.label }
          : sensitive?.spec;
      this.origins[i] = column.sensitive?.origin;
      this.detect[i] = !column.sensitive && !detectors.empty && detectable(column.typeOid, format, kind);
      if (this.masks[i] || this.detect[i]) active = true;
    }
    this.active = active;
  }
}

/** Types whose text form can carry a card or phone number as digits (a detector hit nulls the value). */
const NUMERIC_TYPES = new Set([20, 1700]);

function detectable(typeOid: number, format: number, kind: ValueKind): boolean {
  if (kind === 'text' || kind === 'json' || kind === 'jsonb') return true;
  return format === 0 && NUMERIC_TYPES.has(typeOid);
}

/** A simple Query's text, decoded only when a result of it needs its lineage. */
class QueryText {
  #message: Buffer | undefined;
  #sql: string | undefined;

  /** `message`: the Query message (undefined: the guard's sentinel went instead). */
  constructor(message: Buffer | undefined) {
    this.#message = message;
    if (!message) this.#sql = '';
  }

  get sql(): string {
    if (this.#sql === undefined) {
      this.#sql = parseQuery(this.#message as Buffer);
      this.#message = undefined;
    }
    return this.#sql;
  }
}

/**
 * Whether a Query/Parse message may hold DECLARE or PREPARE (a cheap byte search; a spelling it
 * misses only leaves that cursor's computed columns masked as unknown).
 */
function mayDeclare(message: Buffer): boolean {
  return (
    message.includes('clare', 5, 'latin1') ||
    message.includes('CLARE', 5, 'latin1') ||
    message.includes('epare', 5, 'latin1') ||
    message.includes('EPARE', 5, 'latin1')
  );
}

/** What a finished catalog lookup hands to the message it paused. */
type Ready = { columns: readonly Column[] } | { copy: CopyOutMasker };

interface Statement {
  sql: string;
  /** From Describe (statement): the columns, resolved. */
  columns?: readonly Column[];
  /**
   * The last Describe (portal) answer for it, when it describes plain table columns only: a
   * portal of the same statement described the same way has the same plan (libpq describes
   * every portal it executes, so this runs once per statement execution).
   */
  described?: { bytes: Buffer; columns: readonly Column[]; plan: RowPlan; generation: number };
}

interface Portal {
  statement: Statement | undefined;
  formats: number[];
  plan?: RowPlan;
}

/** A client message sent upstream whose response is still due (responses come in order). */
type Pending =
  | { kind: 'query'; query: QueryText; index: number }
  | { kind: 'parse' | 'bind' | 'close' | 'sync' }
  | { kind: 'describe-statement'; statement: Statement | undefined }
  | { kind: 'describe-portal'; portal: Portal | undefined }
  | { kind: 'execute'; portal: Portal | undefined };

const T = 0x54;
const D = 0x44;
const H = 0x48;
const COPY_DATA = 0x64;
const COPY_DONE = 0x63;
const A = 0x41;
const N = 0x4e;
const E = 0x45;
const C = 0x43;
const I = 0x49;
const S_SUSPENDED = 0x73;
const Z = 0x5a;
const PARSE_COMPLETE = 0x31;
const BIND_COMPLETE = 0x32;
const CLOSE_COMPLETE = 0x33;
const NO_DATA = 0x6e;

/** Upstream message types the masker must see whole (DataRow and CopyData only while a result needs it). */
export function maskerWantsUpstream(type: number): boolean {
  return (
    type === T ||
    type === H ||
    type === COPY_DONE ||
    type === A ||
    type === N ||
    type === E ||
    type === C ||
    type === I ||
    type === S_SUSPENDED ||
    type === Z ||
    type === PARSE_COMPLETE ||
    type === BIND_COMPLETE ||
    type === CLOSE_COMPLETE ||
    type === NO_DATA
  );
}

/**
 * A result of plain table columns whose sensitivity the catalog settled: its plan depends on
 * nothing but the RowDescription itself (and the catalog generation), so it may be reused.
 */
function plainColumns(fields: readonly Field[], columns: readonly Column[]): boolean {
  return (
    fields.length > 0 &&
    fields.every((field) => field.tableOid !== 0) &&
    !columns.some((c) => c.sensitive?.unknownRelation)
  );
}

/** Cached result plans per session; beyond this the cache starts over (a bound on memory, not a limit on use). */
const MAX_MEMO = 10_000;
const DDL_TAG = /^(CREATE|ALTER|DROP|COMMENT|SECURITY LABEL|IMPORT FOREIGN SCHEMA|REFRESH)\b/;
const NO_SENSITIVE_ROWS = new Set(['ExplainStmt', 'VariableShowStmt']);
/** Error fields that are free text (the rest are codes, identifiers, positions, source locations). */
const TEXT_FIELDS = new Set(['M', 'D', 'H', 'W', 'q']);
const QUOTED = /"(?:[^"]|"")*"/g;

/**
 * Masks what one connection's upstream sends to the client (design.md "Policy" → masking):
 * sensitive columns of every DataRow (text and binary) and COPY TO STDOUT row, values the
 * detectors recognise anywhere (rows, notices, errors, notification payloads), and data values
 * that errors quote. Follows the protocol's request/response order to know which statement and
 * portal each RowDescription, DataRow and CopyOutResponse belongs to — including rows of a
 * prepared statement executed again without a fresh RowDescription. Whatever it cannot place
 * is masked (fail closed). Rows stream one at a time; nothing is buffered beyond one message.
 */
export class ResultMasker {
  readonly #ctx: MaskContext;
  readonly #ctl: MaskControl;
  readonly #pending: Pending[] = [];
  readonly #statements = new Map<string, Statement>();
  readonly #portals = new Map<string, Portal>();
  /** SQL-level cursors (DECLARE) and prepared statements (PREPARE) of this connection. */
  readonly #cursors = new Map<string, ResultLineage>();
  readonly #prepared = new Map<string, StatementLineage>();
  /** The plan for DataRows of the current simple-query result. */
  #queryPlan: RowPlan | undefined;
  #copy: CopyOutMasker | undefined;
  /** A lookup finished while the stream was paused: the re-delivered message uses it. */
  #ready: Ready | undefined;
  #waiting = false;
  readonly #touched = new Set<RowPlan>();
  readonly #extraCounts = new Map<string, number>();
  /** After a `Shrunk` verdict: the new length of the row rewritten in place. */
  shrunk = 0;
  /** The last simple-query RowDescription of plain table columns, and its plan. */
  #lastDescription: { bytes: Buffer; plan: RowPlan; generation: number } | undefined;

  constructor(ctx: MaskContext, ctl: MaskControl) {
    this.#ctx = ctx;
    this.#ctl = ctl;
  }

  /** Whether a DataRow/CopyData must be delivered whole right now (a result with something to mask). */
  wantsRows(): boolean {
    if (this.#copy) return true;
    const plan = this.#rowPlan();
    return plan === undefined || plan.active;
  }

  /** A client message as it went upstream; `replaced`: the guard sent its sentinel of the same kind instead. */
  onClientMessage(type: number, message: Buffer, replaced: boolean): void {
    switch (type) {
      case 0x51: // Query
        this.#pending.push({ kind: 'query', query: new QueryText(replaced ? undefined : message), index: 0 });
        if (!replaced && mayDeclare(message)) this.#noteDeclarations(parseQuery(message));
        return;
      case 0x50: {
        // Parse
        this.#pending.push({ kind: 'parse' });
        const { name, sql } = parseParse(message);
        if (replaced) this.#statements.delete(name);
        else {
          // The same text parsed again under the same name (the unnamed statement of every
          // extended-protocol query): its last Describe answer still applies if it recurs.
          const previous = this.#statements.get(name);
          const statement: Statement = { sql };
          if (previous?.sql === sql && previous.described) statement.described = previous.described;
          this.#statements.set(name, statement);
          if (mayDeclare(message)) this.#noteDeclarations(sql);
        }
        return;
      }
      case 0x42: {
        // Bind
        this.#pending.push({ kind: 'bind' });
        const { portal, statement } = parseBind(message);
        this.#portals.set(portal, {
          statement: this.#statements.get(statement),
          formats: parseBindResultFormats(message),
        });
        return;
      }
      case 0x44: {
        // Describe
        const { kind, name } = parseTarget(message);
        if (kind === 'S')
          this.#pending.push({ kind: 'describe-statement', statement: this.#statements.get(name) });
        else this.#pending.push({ kind: 'describe-portal', portal: this.#portals.get(name) });
        return;
      }
      case 0x45: // Execute
        this.#pending.push({ kind: 'execute', portal: this.#portals.get(parseExecute(message).portal) });
        return;
      case 0x43: {
        // Close
        this.#pending.push({ kind: 'close' });
        const { kind, name } = parseTarget(message);
        (kind === 'S' ? this.#statements : this.#portals).delete(name);
        return;
      }
      case 0x53: // Sync
        this.#pending.push({ kind: 'sync' });
        return;
      case 0x46: // FunctionCall: the guard refuses it by sending its sentinel as a Query
        if (replaced) this.#pending.push({ kind: 'query', query: new QueryText(undefined), index: 0 });
        return;
      default:
        return;
    }
  }

  /**
   * An upstream message: Forward (unchanged, or changed in place), a replacement to send
   * instead (empty: drop it), or Pause while the catalog is consulted (the framer re-delivers it).
   * For CommandComplete/ErrorResponse/ReadyForQuery call it after the guard has let the message through.
   */
  onUpstreamMessage(type: number, message: Buffer): Verdict | Buffer {
    switch (type) {
      case D:
        return this.#onDataRow(message);
      case COPY_DATA:
        return this.#onCopyData(message);
      case T:
        return this.#onRowDescription(message);
      case H:
        return this.#onCopyOut(message);
      case COPY_DONE: {
        const copy = this.#copy;
        this.#copy = undefined;
        const rest = copy?.end();
        if (rest && rest.length > 0) throw new ProtocolError('bad_copy', 'COPY data ended mid-row');
        return Verdict.Forward;
      }
      case A:
        return this.#onNotification(message);
      case N:
        return this.#scrubFields(message) ?? Verdict.Forward;
      case E:
        this.#onError();
        return this.#scrubFields(message) ?? Verdict.Forward;
      case C:
      case I:
        this.#onComplete(type === C ? message : undefined);
        return Verdict.Forward;
      case S_SUSPENDED:
        this.#shift('execute');
        return Verdict.Forward;
      case Z:
        this.#onReady();
        return Verdict.Forward;
      case PARSE_COMPLETE:
        this.#shift('parse');
        return Verdict.Forward;
      case BIND_COMPLETE:
        this.#shift('bind');
        return Verdict.Forward;
      case CLOSE_COMPLETE:
        this.#shift('close');
        return Verdict.Forward;
      case NO_DATA:
        this.#pending.shift();
        return Verdict.Forward;
      default:
        return Verdict.Forward;
    }
  }

  /** Masked columns (`schema.table.column`, `detector:name`) and value counts since the last call. */
  takeMasked(): Map<string, number> | undefined {
    if (this.#touched.size === 0 && this.#extraCounts.size === 0) return undefined;
    const counts = new Map(this.#extraCounts);
    this.#extraCounts.clear();
    for (const plan of this.#touched) {
      plan.touched = false;
      for (let i = 0; i < plan.counts.length; i++) {
        const n = plan.counts[i] as number;
        if (n === 0) continue;
        const origin = plan.origins[i] ?? 'detector';
        counts.set(origin, (counts.get(origin) ?? 0) + n);
        plan.counts[i] = 0;
      }
    }
    this.#touched.clear();
    return counts.size === 0 ? undefined : counts;
  }

  // ---- request/response bookkeeping ----------------------------------------------------------

  #shift(expected: Pending['kind']): void {
    const head = this.#pending[0];
    if (head?.kind === expected) this.#pending.shift();
    else this.#desync();
  }

  /** The responses no longer match what we think was asked: forget the plans (rows mask fail-closed until ReadyForQuery). */
  #desync(): void {
    this.#pending.length = 0;
    this.#queryPlan = undefined;
  }

  #onComplete(tag: Buffer | undefined): void {
    // `SELECT n` (the usual tag) is not DDL: skip decoding it.
    if (tag && !(tag[5] === 0x53 && tag[6] === 0x45 && tag[7] === 0x4c)) {
      const text = tag.toString('latin1', 5, tag.length - 1);
      if (DDL_TAG.test(text)) this.#ctx.sensitivity.invalidate();
    }
    const head = this.#pending[0];
    if (head?.kind === 'query') {
      head.index++;
      this.#queryPlan = undefined;
    } else if (head?.kind === 'execute') this.#pending.shift();
    else this.#desync();
  }

  #onError(): void {
    this.#copy = undefined;
    this.#queryPlan = undefined;
    // Extended protocol: the server skips everything up to Sync.
    while (this.#pending.length > 0) {
      const head = this.#pending[0] as Pending;
      if (head.kind === 'sync' || head.kind === 'query') return;
      this.#pending.shift();
    }
  }

  #onReady(): void {
    this.#queryPlan = undefined;
    this.#copy = undefined;
    while (this.#pending.length > 0) {
      const head = this.#pending.shift() as Pending;
      if (head.kind === 'sync' || head.kind === 'query') return;
    }
  }

  /** The plan for DataRows arriving now; undefined when unknown (they are then masked whole). */
  #rowPlan(): RowPlan | undefined {
    const head = this.#pending[0];
    if (head?.kind === 'query') return this.#queryPlan;
    if (head?.kind !== 'execute') return undefined;
    const portal = head.portal;
    if (!portal) return undefined;
    if (!portal.plan && portal.statement?.columns) {
      portal.plan = new RowPlan(portal.statement.columns, portal.formats, this.#ctx.detectors);
    }
    return portal.plan;
  }

  /** The lineage of the statement whose result is arriving, and the node type of that statement. */
  #currentStatement(): { lineage: StatementLineage | undefined; kind: string | undefined } {
    const head = this.#pending[0];
    let sql: string | undefined;
    let index = 0;
    if (head?.kind === 'query') {
      sql = head.query.sql;
      index = head.index;
    } else if (head?.kind === 'describe-statement') sql = head.statement?.sql;
    else if (head?.kind === 'describe-portal' || head?.kind === 'execute') sql = head.portal?.statement?.sql;
    if (sql === undefined) return { lineage: undefined, kind: undefined };
    const analyzed = this.#ctx.analyze(sql);
    return { lineage: analyzed?.statements[index], kind: analyzed?.kinds[index] };
  }

  /** Identifies the statement whose result is arriving (its text and position), for caching plans. */
  #currentKey(): string {
    const head = this.#pending[0];
    let sql = '';
    let index = 0;
    if (head?.kind === 'query') {
      sql = head.query.sql;
      index = head.index;
    } else if (head?.kind === 'describe-statement') sql = head.statement?.sql ?? '';
    else if (head?.kind === 'describe-portal' || head?.kind === 'execute')
      sql = head.portal?.statement?.sql ?? '';
    return `${index}\u0000${shapeKey(sql) ?? sql}`;
  }

  #noteDeclarations(sql: string): void {
    for (const statement of this.#ctx.analyze(sql)?.statements ?? []) {
      if (statement.declares) this.#cursors.set(statement.declares.cursor, statement.declares.result);
      if (statement.prepares) this.#prepared.set(statement.prepares.name, statement.prepares.statement);
    }
  }

  // ---- RowDescription --------------------------------------------------------------------------

  #onRowDescription(message: Buffer): Verdict | Buffer {
    const head = this.#pending[0];
    // The same description of plain table columns as last time (a query repeated with other
    // literals — the usual OLTP pattern): its plan is the same; skip the parse and the lookup.
    const last = this.#lastDescription;
    if (
      head?.kind === 'query' &&
      last &&
      last.generation === this.#ctx.sensitivity.generation &&
      last.bytes.equals(message)
    ) {
      this.#queryPlan = last.plan;
      return Verdict.Forward;
    }
    const statement = head?.kind === 'describe-portal' ? head.portal?.statement : undefined;
    const described = statement?.described;
    if (
      described &&
      this.#ready === undefined &&
      described.generation === this.#ctx.sensitivity.generation &&
      described.bytes.equals(message)
    ) {
      this.#pending.shift();
      (head as { portal: Portal }).portal.plan = described.plan;
      (statement as Statement).columns = described.columns;
      return Verdict.Forward;
    }
    const fields = parseRowDescription(message);
    const ready = this.#ready;
    let columns: readonly Column[] | undefined;
    if (ready && 'columns' in ready) {
      columns = ready.columns;
      this.#ready = undefined;
    } else {
      const { lineage, kind } = this.#currentStatement();
      const pending = this.#resolveColumns(fields, lineage, kind);
      if (pending instanceof Promise) return this.#wait(pending.then((resolved) => ({ columns: resolved })));
      columns = pending;
    }
    const formats = fields.map((field) => field.format);
    if (head?.kind === 'query') {
      const plan = new RowPlan(columns, formats, this.#ctx.detectors);
      this.#queryPlan = plan;
      // Only plans that depend on nothing but the description itself are reused.
      this.#lastDescription = plainColumns(fields, columns)
        ? { bytes: Buffer.from(message), plan, generation: this.#ctx.sensitivity.generation }
        : undefined;
      return Verdict.Forward;
    }
    if (head?.kind === 'describe-statement') {
      this.#pending.shift();
      if (head.statement) head.statement.columns = columns;
    } else if (head?.kind === 'describe-portal') {
      this.#pending.shift();
      if (head.portal) {
        const plan = new RowPlan(columns, formats, this.#ctx.detectors);
        head.portal.plan = plan;
        // The columns are the statement's: later portals of it (Bind + Execute, no Describe) use them.
        if (statement) {
          statement.columns = columns;
          statement.described = plainColumns(fields, columns)
            ? { bytes: Buffer.from(message), columns, plan, generation: this.#ctx.sensitivity.generation }
            : undefined;
        }
      }
    } else this.#desync();
    return Verdict.Forward;
  }

  /** Pauses the stream until `lookup` settles; a failed lookup masks everything (fail closed). */
  #wait(lookup: Promise<Ready>): Verdict {
    if (this.#waiting) throw new ProtocolError('bad_state', 'a second catalog lookup while paused');
    this.#waiting = true;
    lookup.then(
      (ready) => {
        this.#waiting = false;
        this.#ready = ready;
        this.#ctl.resumeUpstream();
      },
      (error: unknown) => {
        this.#waiting = false;
        this.#ctl.fail(error);
      },
    );
    return Verdict.Pause;
  }

  /** Columns of a result, synchronously when every answer is cached, else a promise. */
  #resolveColumns(
    fields: readonly Field[],
    lineage: StatementLineage | undefined,
    kind: string | undefined,
  ): readonly Column[] | Promise<readonly Column[]> {
    const sensitivity = this.#ctx.sensitivity;
    const derived = fields.some((field) => field.tableOid === 0);
    const key = `${derived ? `${this.#currentKey()}\u0000` : ''}${describeKey(fields)}`;
    let usedLineage = false;
    // FETCH and EXECUTE depend on this connection's cursors and prepared statements: never shared.
    const shared = lineage?.fetches === undefined && lineage?.executes === undefined;
    const known = shared ? (sensitivity.memo.get(key) as readonly Column[] | undefined) : undefined;
    if (known) return known;
    return (async () => {
      let sources: Source[][] | 'none' | undefined;
      let analyzed = false;
      const lineageSources = async (): Promise<Source[][] | 'none' | undefined> => {
        if (!analyzed) sources = await this.#derivedSources(lineage, kind);
        analyzed = true;
        usedLineage = true;
        return sources;
      };
      const columns: Column[] = [];
      for (let i = 0; i < fields.length; i++) {
        const field = fields[i] as Field;
        let sensitive: Sensitive | null;
        if (field.tableOid !== 0) {
          sensitive = await sensitivity.ofColumn(field.tableOid, field.attnum);
          // A relation of the agent's open transaction: the statement's lineage names it.
          const named = sensitive?.unknownRelation ? await lineageSources() : undefined;
          const list = Array.isArray(named) && named.length === fields.length ? named[i] : undefined;
          if (list) sensitive = await sensitivity.ofSources(list);
        } else if ((await lineageSources()) === 'none') sensitive = null;
        else {
          const list = Array.isArray(sources) && sources.length === fields.length ? sources[i] : undefined;
          sensitive = list
            ? await sensitivity.ofSources(list)
            : {
                spec: { strategy: 'redact', label: 'derived' },
                origin: 'derived (result not analyzed)',
                derived: true,
              };
        }
        columns.push({ typeOid: field.typeOid, sensitive });
      }
      if (shared && (derived || !usedLineage)) {
        if (sensitivity.memo.size >= MAX_MEMO) sensitivity.memo.clear();
        sensitivity.memo.set(key, columns);
      }
      return columns;
    })();
  }

  /** Per output column, what it derives from; 'none' for plan/setting text; undefined when unknown. */
  async #derivedSources(
    lineage: StatementLineage | undefined,
    kind: string | undefined,
  ): Promise<Source[][] | 'none' | undefined> {
    if (!lineage || lineage.opaque) return undefined;
    let result = lineage.result;
    if (!result && lineage.fetches !== undefined) result = this.#cursors.get(lineage.fetches);
    if (!result && lineage.executes !== undefined) result = this.#prepared.get(lineage.executes)?.result;
    if (!result) return kind !== undefined && NO_SENSITIVE_ROWS.has(kind) ? 'none' : undefined;
    return this.#ctx.sensitivity.expand(result);
  }

  // ---- DataRow -------------------------------------------------------------------------------

  /**
   * Masks one DataRow inside its own bytes: each field is rewritten in place and moved down
   * over what earlier fields gave up, so the usual row (masked values no longer than the
   * originals) costs no allocation and leaves as part of the chunk's single write. A value that
   * would grow sends the rest of the row through `#finishRow` into a new buffer.
   */
  #onDataRow(message: Buffer): Verdict | Buffer {
    const plan = this.#rowPlan();
    if (plan === undefined) return nullRow(message);
    if (!plan.active) return Verdict.Forward;
    const count = ((message[5] as number) << 8) | (message[6] as number);
    if (count !== plan.masks.length) return nullRow(message);
    const { values, detectors } = this.#ctx;
    if (!plan.touched) {
      plan.touched = true;
      this.#touched.add(plan);
    }
    let read = 7;
    let write = 7;
    for (let i = 0; i < count; i++) {
      const length = readI32(message, read);
      const start = read + 4;
      let size = length;
      if (length >= 0) {
        const spec = plan.masks[i];
        const kind = plan.kinds[i] as ValueKind;
        if (spec) {
          plan.counts[i] = (plan.counts[i] as number) + 1;
          size =
            kind === 'other' || spec.strategy === 'null'
              ? -1
              : values.maskShrink(message, start, start + length, kind, spec);
          if (size === -1 && kind !== 'other' && spec.strategy !== 'null') {
            return this.#finishRow(
              message,
              plan,
              i,
              read,
              write,
              values.mask(message.subarray(start, start + length), kind, spec),
            );
          }
        } else if (plan.detect[i] && detectors.mightMatch(message, start, start + length)) {
          const scrubbed = this.#detectValue(message.subarray(start, start + length), kind);
          if (scrubbed === null) size = -1;
          else if (scrubbed !== undefined) {
            if (scrubbed.length > length) return this.#finishRow(message, plan, i, read, write, scrubbed);
            scrubbed.copy(message, start);
            size = scrubbed.length;
          }
        }
      }
      // The header goes at `write` (≤ `read`): it never covers this field's value, which starts at read + 4.
      if (write !== read || size !== length) writeI32(message, write, size);
      if (size > 0 && write !== read) message.copyWithin(write + 4, start, start + size);
      write += 4 + Math.max(0, size);
      read = start + Math.max(0, length);
    }
    if (write === read) return Verdict.Forward;
    writeI32(message, 1, write - 1);
    this.shrunk = write;
    return Verdict.Shrunk;
  }

  /**
   * The rest of a row whose field `index` grew: fields before it are final in message[0, write);
   * field `index` becomes `value`; later fields are masked out of place; all into a new buffer.
   */
  #finishRow(
    message: Buffer,
    plan: RowPlan,
    index: number,
    read: number,
    write: number,
    value: Buffer | null,
  ): Buffer {
    const { values, detectors } = this.#ctx;
    const count = plan.masks.length;
    const tail: (Buffer | null)[] = [value];
    let offset = read + 4 + Math.max(0, message.readInt32BE(read));
    for (let i = index + 1; i < count; i++) {
      const length = message.readInt32BE(offset);
      const start = offset + 4;
      offset = start + Math.max(0, length);
      let out: Buffer | null = length < 0 ? null : message.subarray(start, start + length);
      const spec = plan.masks[i];
      const kind = plan.kinds[i] as ValueKind;
      if (out && spec) {
        plan.counts[i] = (plan.counts[i] as number) + 1;
        out = values.mask(out, kind, spec);
      } else if (out && plan.detect[i] && detectors.mightMatch(message, start, start + length)) {
        const scrubbed = this.#detectValue(out, kind);
        if (scrubbed !== undefined) out = scrubbed;
      }
      tail.push(out);
    }
    let size = write;
    for (const part of tail) size += 4 + (part ? part.length : 0);
    const row = Buffer.allocUnsafe(size);
    message.copy(row, 0, 0, write);
    row.writeInt32BE(size - 1, 1);
    let at = write;
    for (const part of tail) {
      row.writeInt32BE(part ? part.length : -1, at);
      at += 4;
      if (part) {
        part.copy(row, at);
        at += part.length;
      }
    }
    return row;
  }

  /** A value with what the detectors found masked (null: nulled), or undefined when they found nothing. */
  #detectValue(value: Buffer, kind: ValueKind): Buffer | null | undefined {
    const body = kind === 'jsonb' ? value.subarray(1) : value;
    const found = this.#ctx.detectors.scrub(body.toString('utf8'), this.#ctx.values);
    if (!found) return undefined;
    for (const name of found.hits) this.#count(`detector:${name}`);
    if (found.nullify || kind === 'other') return null;
    const text = Buffer.from(found.text, 'utf8');
    return kind === 'jsonb' ? Buffer.concat([value.subarray(0, 1), text]) : text;
  }

  #count(origin: string): void {
    this.#extraCounts.set(origin, (this.#extraCounts.get(origin) ?? 0) + 1);
  }

  // ---- COPY TO STDOUT ------------------------------------------------------------------------

  #onCopyOut(message: Buffer): Verdict | Buffer {
    const ready = this.#ready;
    if (ready && 'copy' in ready) {
      this.#ready = undefined;
      this.#copy = ready.copy;
      return Verdict.Forward;
    }
    const format = message.readInt8(5);
    const count = message.readInt16BE(6);
    const { lineage } = this.#currentStatement();
    return this.#wait(this.#copyMasker(lineage?.copy, format, count).then((copy) => ({ copy })));
  }

  async #copyMasker(copy: CopyLineage | undefined, format: number, count: number): Promise<CopyOutMasker> {
    const { sensitivity, values } = this.#ctx;
    const options = copy?.options ?? {
      format: format === 1 ? 'binary' : 'text',
      delimiter: '\t',
      null: '\\N',
      quote: '"',
      escape: '"',
      header: false,
    };
    const binary = options.format === 'binary';
    const columns: Column[] = [];
    if (copy?.query) {
      const sources = await sensitivity.expand(copy.query);
      for (let i = 0; i < count; i++) {
        const list = sources?.length === count ? sources[i] : undefined;
        columns.push({
          typeOid: 0,
          sensitive: list
            ? await sensitivity.ofSources(list)
            : {
                spec: { strategy: 'redact', label: 'derived' },
                origin: 'derived (COPY query not analyzed)',
                derived: true,
              },
        });
      }
    } else if (copy?.rel) {
      const rel = copy.rel;
      const all = (await sensitivity.relationColumns(rel)) ?? [];
      const chosen = copy.columns ? copy.columns.map((name) => all.find((c) => c.name === name)) : all;
      for (const column of chosen) {
        columns.push({
          typeOid: column?.typeOid ?? 0,
          sensitive: column
            ? await sensitivity.ofSources([{ kind: 'column', rel, column: column.name }])
            : null,
        });
      }
      // A plain column of the COPY's own table: masked as itself, not as an expression of it.
      for (const column of columns)
        if (column.sensitive) column.sensitive = { ...column.sensitive, derived: false };
    }
    const detectors = this.#ctx.detectors;
    const plan = new RowPlan(columns.length === count ? columns : [], [binary ? 1 : 0], detectors);
    this.#touched.add(plan);
    const masks: (ColumnMask | undefined)[] = plan.masks.map((spec, i) => {
      const kind = plan.kinds[i] as ValueKind;
      if (spec) {
        return (value: Buffer) => {
          plan.counts[i] = (plan.counts[i] as number) + 1;
          return values.mask(value, kind, spec);
        };
      }
      // Detectors on text-like columns, and on columns of unknown type (a hit in binary → NULL).
      if (detectors.empty || (!plan.detect[i] && columns[i]?.typeOid !== 0)) return undefined;
      return (value: Buffer) =>
        detectors.mightMatch(value, 0, value.length) ? (this.#detectValue(value, kind) ?? value) : value;
    });
    const maskAll: ColumnMask = () => {
      this.#count('derived (COPY column not analyzed)');
      return null;
    };
    return new CopyOutMasker(options, masks, maskAll);
  }

  #onCopyData(message: Buffer): Verdict | Buffer {
    const copy = this.#copy;
    if (!copy) throw new ProtocolError('bad_copy', 'CopyData outside a COPY');
    const payload = message.subarray(5);
    const out = copy.push(payload);
    if (out === payload) return Verdict.Forward;
    if (out.length === 0) return EMPTY;
    const framed = Buffer.allocUnsafe(5 + out.length);
    framed[0] = COPY_DATA;
    framed.writeInt32BE(4 + out.length, 1);
    out.copy(framed, 5);
    return framed;
  }

  // ---- notices, errors, notifications -----------------------------------------------------------

  #onNotification(message: Buffer): Verdict | Buffer {
    const channelEnd = message.indexOf(0, 9);
    const payloadEnd = message.indexOf(0, channelEnd + 1);
    if (channelEnd < 0 || payloadEnd < 0)
      throw new ProtocolError('bad_message', 'malformed NotificationResponse');
    const payload = message.toString('utf8', channelEnd + 1, payloadEnd);
    const found = this.#ctx.detectors.scrub(payload, this.#ctx.values);
    if (!found) return Verdict.Forward;
    for (const name of found.hits) this.#count(`detector:${name}`);
    const head = message.subarray(5, channelEnd + 1);
    const body = Buffer.from(found.text, 'utf8');
    const out = Buffer.allocUnsafe(5 + head.length + body.length + 1);
    out[0] = A;
    out.writeInt32BE(4 + head.length + body.length + 1, 1);
    head.copy(out, 5);
    body.copy(out, 5 + head.length);
    out[out.length - 1] = 0;
    return out;
  }

  /**
   * Errors and notices: detectors on every free-text field; for data exceptions (class 22) and
   * integrity violations (class 23), whose messages quote the offending value
   * (`invalid input syntax for type integer: "alice@example.com"`, `Key (email)=(…)`), the
   * quoted parts are redacted and the detail withheld.
   */
  #scrubFields(message: Buffer): Buffer | undefined {
    const fields: [number, string][] = [];
    let offset = 5;
    let sqlstate = '';
    while (offset < message.length && message[offset] !== 0) {
      const code = message[offset] as number;
      const end = message.indexOf(0, offset + 1);
      if (end < 0) throw new ProtocolError('bad_message', 'malformed ErrorResponse/NoticeResponse');
      const value = message.toString('utf8', offset + 1, end);
      if (code === C) sqlstate = value;
      fields.push([code, value]);
      offset = end + 1;
    }
    const dataError = sqlstate.startsWith('22') || sqlstate.startsWith('23');
    let changed = false;
    for (const field of fields) {
      const code = String.fromCharCode(field[0]);
      if (!TEXT_FIELDS.has(code)) continue;
      let value = field[1];
      if (dataError && code === 'D') value = 'jit: detail withheld (it may quote masked data)';
      else if (dataError) value = value.replace(QUOTED, '"[REDACTED:value]"');
      const found = this.#ctx.detectors.scrub(value, this.#ctx.values);
      if (found) {
        value = found.text;
        for (const name of found.hits) this.#count(`detector:${name}`);
      }
      if (value !== field[1]) {
        field[1] = value;
        changed = true;
      }
    }
    if (!changed) return undefined;
    const parts = fields.map(([code, value]) =>
      Buffer.concat([Buffer.of(code), Buffer.from(value, 'utf8'), Buffer.of(0)]),
    );
    const body = Buffer.concat([...parts, Buffer.of(0)]);
    const out = Buffer.allocUnsafe(5 + body.length);
    out[0] = message[0] as number;
    out.writeInt32BE(4 + body.length, 1);
    body.copy(out, 5);
    return out;
  }
}

const EMPTY = Buffer.alloc(0);

interface Field {
  tableOid: number;
  attnum: number;
  typeOid: number;
  format: number;
}

/** A RowDescription's identity for caching: tables, attribute numbers, types and formats. */
function describeKey(fields: readonly Field[]): string {
  let key = '';
  for (const field of fields) key += `${field.tableOid}.${field.attnum}.${field.typeOid}.${field.format},`;
  return key;
}

/** RowDescription ('T') fields (https://www.postgresql.org/docs/current/protocol-message-formats.html#PROTOCOL-MESSAGE-FORMATS-ROWDESCRIPTION). */
function parseRowDescription(message: Buffer): Field[] {
  const count = message.readInt16BE(5);
  const fields: Field[] = [];
  let offset = 7;
  for (let i = 0; i < count; i++) {
    const nameEnd = message.indexOf(0, offset);
    if (nameEnd < 0 || nameEnd + 19 > message.length)
      throw new ProtocolError('bad_message', 'malformed RowDescription');
    offset = nameEnd + 1;
    fields.push({
      tableOid: message.readUInt32BE(offset),
      attnum: message.readInt16BE(offset + 4),
      typeOid: message.readUInt32BE(offset + 6),
      format: message.readInt16BE(offset + 16),
    });
    offset += 18;
  }
  return fields;
}

/** The row with every value NULL: for rows the masker cannot place (fail closed). */
function nullRow(message: Buffer): Buffer {
  const count = message.readInt16BE(5);
  const out = Buffer.allocUnsafe(7 + 4 * count);
  out[0] = D;
  out.writeInt32BE(6 + 4 * count, 1);
  out.writeInt16BE(count, 5);
  for (let i = 0; i < count; i++) out.writeInt32BE(-1, 7 + 4 * i);
  return out;
}

/** Big-endian int32 at `offset` (inline: Buffer#readInt32BE's checks cost more than the read on this path). */
function readI32(buffer: Buffer, offset: number): number {
  return (
    ((buffer[offset] as number) << 24) |
    ((buffer[offset + 1] as number) << 16) |
    ((buffer[offset + 2] as number) << 8) |
    (buffer[offset + 3] as number)
  );
}

/** Writes a big-endian int32 at `offset`. */
function writeI32(buffer: Buffer, offset: number, value: number): void {
  buffer[offset] = value >>> 24;
  buffer[offset + 1] = (value >>> 16) & 0xff;
  buffer[offset + 2] = (value >>> 8) & 0xff;
  buffer[offset + 3] = value & 0xff;
}
