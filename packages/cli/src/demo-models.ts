/**
 * `uso-studio models demo`: writes the demo model set (small generated models with no learned weights) and the demo
 * input pictures into a data directory.
 */
import { generateDemoModels } from '@uso-studio/runtime';
import { defaultDataDir, prepareDataDir } from '@uso-studio/server';

export async function generateDemoSet(options: { data?: string; force?: boolean } = {}): Promise<string[]> {
  const dirs = prepareDataDir(options.data ?? defaultDataDir());
  const { written } = await generateDemoModels(dirs.modelsDir, dirs.inputDir, { force: options.force ?? false });
  return written;
}
