import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultDataDir, prepareDataDir } from './data-dir.ts';
import { tempDataDir } from './test-support/harness.ts';

describe('data directory', () => {
  it('defaults to $USO_STUDIO_DATA, then XDG_DATA_HOME, then ~/.local/share', () => {
    expect(defaultDataDir({ USO_STUDIO_DATA: '/x/y' })).toBe('/x/y');
    expect(defaultDataDir({ XDG_DATA_HOME: '/xdg' })).toBe('/xdg/uso-studio');
    expect(defaultDataDir({})).toMatch(/\.local\/share\/uso-studio$/);
  });

  it('creates input, output, temp and models', () => {
    const root = join(tempDataDir(), 'nested');
    const dirs = prepareDataDir(root);
    for (const d of [dirs.inputDir, dirs.outputDir, dirs.tempDir, dirs.modelsDir]) expect(existsSync(d)).toBe(true);
    expect(dirs.databaseFile).toBe(join(root, 'uso-studio.sqlite'));
    rmSync(join(root, '..'), { recursive: true, force: true });
  });
});
