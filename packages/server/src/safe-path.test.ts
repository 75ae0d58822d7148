import { existsSync, mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpError } from './http-error.ts';
import { checkFileName, checkSubfolder, isInside, resolveExistingFile, resolveWritableDir } from './safe-path.ts';
import { tempDataDir } from './test-support/harness.ts';

const root = realpathSync(tempDataDir());
const base = join(root, 'base');
const outside = join(root, 'outside');
mkdirSync(join(base, 'sub'), { recursive: true });
mkdirSync(outside);
writeFileSync(join(base, 'a.png'), 'a');
writeFileSync(join(outside, 'secret'), 's');
symlinkSync(join(outside, 'secret'), join(base, 'link'));
symlinkSync(outside, join(base, 'out'));
symlinkSync(join(base, 'a.png'), join(base, 'inner-link.png'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const status = (f: () => unknown) => {
  try {
    f();
    return 0;
  } catch (e) {
    return e instanceof HttpError ? e.status : -1;
  }
};

describe('safe paths', () => {
  it('accepts plain names and refuses separators, dots, control characters', () => {
    expect(checkFileName('a b (1).png')).toBe('a b (1).png');
    for (const bad of ['', '.', '..', '.env', 'a/b', 'a\\b', 'a\u0000b', 'a\nb', 'x'.repeat(256)]) expect(status(() => checkFileName(bad)), JSON.stringify(bad)).toBe(400);
  });

  it('splits subfolders and refuses escapes', () => {
    expect(checkSubfolder('')).toEqual([]);
    expect(checkSubfolder('a//b/')).toEqual(['a', 'b']);
    for (const bad of ['..', 'a/..', '/etc', '.', 'a\\b', 'a\u0000']) expect(status(() => checkSubfolder(bad)), bad).toBe(403);
  });

  it('compares real paths by whole components', () => {
    expect(isInside('/a/b', '/a/b/c')).toBe(true);
    expect(isInside('/a/b', '/a/bc')).toBe(false);
  });

  it('resolves existing files inside only, following symlinks to check them', () => {
    expect(resolveExistingFile(base, '', 'a.png')).toBe(join(base, 'a.png'));
    expect(resolveExistingFile(base, '', 'inner-link.png')).toBe(join(base, 'a.png'));
    expect(status(() => resolveExistingFile(base, '', 'link'))).toBe(403);
    expect(status(() => resolveExistingFile(base, 'out', 'secret'))).toBe(403);
    expect(status(() => resolveExistingFile(base, '', 'missing'))).toBe(404);
  });

  it('creates writable folders inside only, never through a symlink', () => {
    expect(resolveWritableDir(base, 'sub/new/deeper')).toBe(join(base, 'sub', 'new', 'deeper'));
    expect(status(() => resolveWritableDir(base, 'out/created'))).toBe(403);
    expect(existsSync(join(outside, 'created'))).toBe(false);
  });
});
