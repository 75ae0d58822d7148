/**
 * `uso-studio models demo` and `models tiny`: write the demo model set (small hand-set models with no learned weights)
 * or the tiny real-architecture set (random weights) and the demo input pictures into a data directory.
 */
import { generateDemoModels, generateTinyModels } from '@uso-studio/runtime';
import { defaultDataDir, prepareDataDir } from '@uso-studio/server';

export async function generateDemoSet(options: { data?: string; force?: boolean } = {}): Promise<string[]> {
  const dirs = prepareDataDir(options.data ?? defaultDataDir());
  const { written } = await generateDemoModels(dirs.modelsDir, dirs.inputDir, { force: options.force ?? false });
  return written;
}

export function generateTinySet(options: { data?: string; force?: boolean } = {}): string[] {
  const dirs = prepareDataDir(options.data ?? defaultDataDir());
  return generateTinyModels(dirs.modelsDir, dirs.inputDir, { force: options.force ?? false }).written;
}
