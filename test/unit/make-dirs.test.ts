import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDirs } from '../../src/util/make-dirs.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'jit-mkdirs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('makeDirs', () => {
  it('creates every missing level with the mode, and is idempotent', async () => {
    const deep = path.join(dir, 'a', 'b', 'c');
    await makeDirs(deep, 0o700);
    await makeDirs(deep, 0o700);
    for (const level of ['a', 'a/b', 'a/b/c']) {
      const info = await stat(path.join(dir, level));
      expect(info.isDirectory()).toBe(true);
      expect(info.mode & 0o777).toBe(0o700);
    }
  });

  it('fails with ENOTDIR under a file, and with ENOENT (not a hang) under /proc', async () => {
    await writeFile(path.join(dir, 'file'), 'x');
    await expect(makeDirs(path.join(dir, 'file', 'sub'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(makeDirs('/proc/jit-no-such-dir/deeper')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
