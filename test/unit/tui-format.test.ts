import { describe, expect, test } from 'vitest';
import {
  clockTime,
  compactCount,
  compactMs,
  countdown,
  expiryWarning,
  fit,
  oneLine,
  printable,
  truncate,
  wrapStatement,
} from '../../src/tui/format.js';

describe('time', () => {
  test('clock time is local HH:MM:SS', () => {
    expect(clockTime(new Date(2025, 0, 1, 9, 5, 7).getTime())).toBe('09:05:07');
  });

  test('countdowns are mm:ss under an hour, h:mm:ss from an hour, rounded up, never negative', () => {
    expect(countdown(872_000)).toBe('14:32');
    expect(countdown(59_001)).toBe('01:00');
    expect(countdown(3_600_000)).toBe('1:00:00');
    expect(countdown(5_025_000)).toBe('1:23:45');
    expect(countdown(-5)).toBe('00:00');
  });

  test('the expiry warning covers the last 2 minutes or the last 10 %, whichever is longer', () => {
    const fifteen = 15 * 60_000;
    expect(expiryWarning(121_000, fifteen)).toBe(false);
    expect(expiryWarning(120_000, fifteen)).toBe(true);
    const hour = 60 * 60_000;
    expect(expiryWarning(361_000, hour)).toBe(false);
    expect(expiryWarning(360_000, hour)).toBe(true);
  });
});

describe('untrusted text', () => {
  test('control characters, DEL, C1, bidi overrides and zero-width characters become visible escapes', () => {
    expect(printable('a\u001b[2Jb')).toBe('a\\x1b[2Jb');
    expect(printable('x\u007fy\u009bz')).toBe('x\\x7fy\\x9bz');
    expect(printable('DROP\u202eELBAT')).toBe('DROP\\u202eELBAT');
    expect(printable('a\u200bb\ufeff')).toBe('a\\u200bb\\ufeff');
    expect(printable('café ✓ 表')).toBe('café ✓ 表');
  });

  test('one line: whitespace runs become one space', () => {
    expect(oneLine('  SELECT\n\t1,\r\n  2  ')).toBe('SELECT 1, 2');
  });
});

describe('fitting', () => {
  test('truncate ends with … only when it cuts', () => {
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('abcdefg', 6)).toBe('abcde…');
    expect(truncate('abc', 0)).toBe('');
  });

  test('fit pads to the exact width on either side', () => {
    expect(fit('ab', 4)).toBe('ab  ');
    expect(fit('ab', 4, 'right')).toBe('  ab');
    expect(fit('abcdef', 4, 'right')).toBe('abc…');
  });

  test('compact numbers stay within five characters', () => {
    expect(compactCount(99_999)).toBe('99999');
    expect(compactCount(123_456)).toBe('123k');
    expect(compactCount(1_234_567)).toBe('1.2M');
    expect(compactMs(12.4)).toBe('12');
    expect(compactMs(123_456)).toBe('123s');
  });
});

describe('wrapStatement', () => {
  test('keeps line breaks, breaks long lines hard, and reports nothing hidden when it fits', () => {
    expect(wrapStatement('SELECT 1\nFROM\tt', 20, 5)).toEqual({ lines: ['SELECT 1', 'FROM  t'], hidden: 0 });
    expect(wrapStatement('abcdefghij', 4, 5)).toEqual({ lines: ['abcd', 'efgh', 'ij'], hidden: 0 });
  });

  test('caps the lines, ends the last with …, and counts what it left out', () => {
    const { lines, hidden } = wrapStatement('a\nb\nc\nd\ne', 10, 3);
    expect(lines).toEqual(['a', 'b', 'c…']);
    expect(hidden).toBe(2);
    expect(wrapStatement('abcdefghijkl', 4, 2)).toEqual({ lines: ['abcd', 'efg…'], hidden: 1 });
  });

  test('escapes control characters in every line', () => {
    expect(wrapStatement('SELECT 1;\u001b[1A\u001b[2KDROP TABLE t', 80, 3).lines).toEqual([
      'SELECT 1;\\x1b[1A\\x1b[2KDROP TABLE t',
    ]);
  });
});
