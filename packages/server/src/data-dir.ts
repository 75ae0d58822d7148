/**
 * The data directory: one folder holding the SQLite file and ComfyUI's input/, output/, temp/ and models/ folders.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { HostEnvironment } from '@uso-studio/core';

export interface DataDirs extends HostEnvironment {
  root: string;
  databaseFile: string;
  cacheDir: string;
}

/**
 * The default data directory: `$USO_STUDIO_DATA` when set, else `$XDG_DATA_HOME/uso-studio`, else
 * `~/.local/share/uso-studio` (per-user, outside any checkout, so upgrades never touch it).
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.USO_STUDIO_DATA) return resolve(env.USO_STUDIO_DATA);
  const xdg = env.XDG_DATA_HOME;
  return join(xdg ? resolve(xdg) : join(homedir(), '.local', 'share'), 'uso-studio');
}

/** Resolves the folders under `root` and creates the ones that are missing. */
export function prepareDataDir(root: string): DataDirs {
  const abs = resolve(root);
  const dirs: DataDirs = {
    root: abs,
    databaseFile: join(abs, 'uso-studio.sqlite'),
    inputDir: join(abs, 'input'),
    outputDir: join(abs, 'output'),
    tempDir: join(abs, 'temp'),
    modelsDir: join(abs, 'models'),
    cacheDir: join(abs, 'cache'),
  };
  for (const d of [dirs.root, dirs.inputDir, dirs.outputDir, dirs.tempDir, dirs.modelsDir]) mkdirSync(d, { recursive: true });
  return dirs;
}
