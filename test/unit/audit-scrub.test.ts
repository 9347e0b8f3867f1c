import { beforeAll, describe, expect, it } from 'vitest';
import { DecisionCache, scrubLiterals } from '../../src/policy/decision-cache.js';
import { initParser } from '../../src/policy/parse.js';
import { DEFAULT_POLICY } from '../../src/policy/policy.js';

beforeAll(async () => {
  await initParser();
});

describe('audit text keeps personal data out', () => {
  const leaks: [string, string][] = [
    ["CREATE VIEW v AS SELECT * FROM customers WHERE email = 'leak@example.com'", 'leak@example.com'],
    ["COMMENT ON TABLE customers IS 'ssn 123-45-6789'", '123-45-6789'],
    ['/* card 4111111111111111 */ SELECT 1', '4111111111111111'],
    ['SELECT 1 -- phone +1-555-0100', '555-0100'],
    ["ALTER TABLE customers ALTER COLUMN email SET DEFAULT 'default@example.com'", 'default@example.com'],
    ["SELECT E'escaped\\\\ secret'", 'secret'],
  ];
  it.each(leaks)('normalized text of %s has no literal', (sql, secret) => {
    const { normalized } = new DecisionCache(DEFAULT_POLICY).lookup(sql);
    expect(normalized).not.toContain(secret);
    expect(normalized).toMatch(/\$\d/);
  });

  it('numbers leftover literals after the placeholders normalize already made', () => {
    expect(scrubLiterals("SELECT $1 /* x */, 'a' FROM t WHERE b = $2")).toBe(
      'SELECT $1 , $3 FROM t WHERE b = $2',
    );
  });

  it('leaves clean normalized text exactly as it was', () => {
    const clean = 'SELECT name FROM customers WHERE email = $1 AND id = $2';
    expect(scrubLiterals(clean)).toBe(clean);
  });
});
