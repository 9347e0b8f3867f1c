// @ts-check
// Turns the collected samples into the Markdown report (pure: no I/O).

/** The endpoints in table order. */
export const ENDPOINTS = /** @type {const} */ (['direct', 'pgbouncer', 'relay', 'jit']);
/** @typedef {(typeof ENDPOINTS)[number]} Endpoint */

/** @type {Record<Endpoint, string>} */
export const ENDPOINT_LABEL = {
  direct: 'direct',
  pgbouncer: 'PgBouncer',
  relay: 'bare Node relay',
  jit: 'jit',
};

/**
 * Samples of one workload on one endpoint: the measured values (in run order) and the
 * reasons of failed runs.
 * @typedef {{ values: number[], errors: string[] }} Cell
 */

/**
 * What the project promises (see bench/README.md): a ratio against one endpoint, or the RSS cap.
 * @type {Record<string, { against: 'pgbouncer' | 'direct', min: number, label: string }[]>}
 */
export const TARGETS = {
  'pgbench-simple-c8': [
    { against: 'pgbouncer', min: 0.9, label: 'issue 2' },
    { against: 'pgbouncer', min: 0.8, label: 'issue 3, guard + audit' },
  ],
  'pgbench-prepared-c8': [
    { against: 'pgbouncer', min: 0.75, label: 'issue 2' },
    { against: 'pgbouncer', min: 0.7, label: 'issue 3, guard + audit' },
  ],
  'select-1m': [{ against: 'direct', min: 0.9, label: 'issue 2' }],
  'select-1m-masked': [{ against: 'direct', min: 0.85, label: 'issue 4, masking' }],
};
/** Peak RSS cap for the proxy, in MB. */
export const RSS_TARGET_MB = 150;

/**
 * The median of a non-empty list (mean of the two middle values for an even count).
 * @param {number[]} values
 */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? /** @type {number} */ (sorted[mid])
    : /** @type {number} */ (sorted[mid - 1] + /** @type {number} */ (sorted[mid])) / 2;
}

/** @param {number} value */
function formatNumber(value) {
  return Math.round(value).toLocaleString('en-US');
}

/** @param {string} text */
function escapeCell(text) {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/**
 * @param {Cell | undefined} cell
 * @returns {number | undefined}
 */
function cellMedian(cell) {
  return cell && cell.values.length > 0 ? median(cell.values) : undefined;
}

/** @param {Cell | undefined} cell */
function formatCell(cell) {
  const value = cellMedian(cell);
  if (value !== undefined) return formatNumber(value);
  return `n/a (${escapeCell(cell?.errors[0] ?? 'not run')})`;
}

/**
 * @param {number | undefined} numerator
 * @param {number | undefined} denominator
 */
function ratio(numerator, denominator) {
  return numerator === undefined || denominator === undefined || denominator === 0
    ? undefined
    : numerator / denominator;
}

/** @param {number | undefined} value */
function formatRatio(value) {
  return value === undefined ? '–' : value.toFixed(2);
}

/**
 * @typedef {object} ReportInput
 * @property {{ date: string, node: string, postgres: string, pgbench: string, pgbouncer: string, cpus: string, load: string, rounds: number, durationS: number }} meta
 * @property {{ id: string, label: string, unit: string }[]} workloads
 * @property {Map<string, Map<Endpoint, Cell>>} cells by workload id, then endpoint
 * @property {number | undefined} peakRssMb the jit proxy's VmHWM
 * @property {string[]} notes extra lines (why jit is n/a, …)
 */

/**
 * The Markdown report: header line, results table, proxy RSS, notes, per-run samples.
 * @param {ReportInput} input
 */
export function renderReport({ meta, workloads, cells, peakRssMb, notes }) {
  const lines = [
    '# jit proxy benchmark',
    '',
    `${meta.date} · Node ${meta.node} · PostgreSQL ${meta.postgres} · ${meta.pgbench} · ${meta.pgbouncer} · ` +
      `${meta.cpus}, ${meta.load} · ${meta.rounds} round${meta.rounds === 1 ? '' : 's'} × ${meta.durationS} s per pgbench run ` +
      '(median; endpoint order rotates every run)',
    '',
    '| workload | direct | PgBouncer | bare Node relay | jit | jit/PgBouncer | relay/PgBouncer | jit/direct | target |',
    '|---|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const workload of workloads) {
    const byEndpoint = cells.get(workload.id) ?? new Map();
    const median = (/** @type {Endpoint} */ endpoint) => cellMedian(byEndpoint.get(endpoint));
    const [direct, pgbouncer, relay, jit] = [
      median('direct'),
      median('pgbouncer'),
      median('relay'),
      median('jit'),
    ];
    const vsPgbouncer = ratio(jit, pgbouncer);
    const relayVsPgbouncer = ratio(relay, pgbouncer);
    const vsDirect = ratio(jit, direct);
    const targetText = (TARGETS[workload.id] ?? [])
      .map((target) => {
        const actual = target.against === 'pgbouncer' ? vsPgbouncer : vsDirect;
        const verdict = actual === undefined ? 'n/a' : actual >= target.min ? 'pass' : 'FAIL';
        return `jit/${ENDPOINT_LABEL[target.against]} ≥ ${target.min.toFixed(2)} (${target.label}): ${verdict}`;
      })
      .join('; ');
    lines.push(
      `| ${workload.label} (${workload.unit}) | ` +
        ENDPOINTS.map((endpoint) => formatCell(byEndpoint.get(endpoint))).join(' | ') +
        ` | ${formatRatio(vsPgbouncer)} | ${formatRatio(relayVsPgbouncer)} | ${formatRatio(vsDirect)} | ${targetText} |`,
    );
  }
  lines.push('');
  const rss =
    peakRssMb === undefined
      ? 'n/a'
      : `${peakRssMb.toFixed(1)} MB (target ≤ ${RSS_TARGET_MB} MB: ${peakRssMb <= RSS_TARGET_MB ? 'pass' : 'FAIL'})`;
  lines.push(`jit proxy peak RSS (VmHWM): ${rss}`);
  if (notes.length > 0) {
    lines.push('', ...notes.map((note) => `- ${note}`));
  }
  lines.push('', '<details><summary>Samples, in run order</summary>', '');
  for (const workload of workloads) {
    const byEndpoint = cells.get(workload.id) ?? new Map();
    const parts = ENDPOINTS.map((endpoint) => {
      const cell = byEndpoint.get(endpoint);
      const values = cell?.values.map(formatNumber) ?? [];
      const failed = cell?.errors.length ? ` (${cell.errors.length} failed)` : '';
      return `${ENDPOINT_LABEL[endpoint]}: ${values.join(', ') || '–'}${failed}`;
    });
    lines.push(`- ${workload.label}: ${parts.join(' · ')}`);
  }
  lines.push('', '</details>', '');
  return lines.join('\n');
}
