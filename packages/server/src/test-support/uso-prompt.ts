/**
 * The USO template graph over the demo model set for server tests that need real model nodes: `uso-demo-*` files,
 * generated into the data folder by `withDemoModels`. The graph itself is shared with nodes/uso's end-to-end test.
 */
import { join } from 'node:path';
import { generateDemoModels } from '@uso-studio/runtime';

export { usoPrompt, type UsoPromptOptions } from '../../../../test/support/uso-prompt.ts';

/** Writes the demo model set and its input pictures into a data folder (before the server starts). */
export async function withDemoModels(dataDir: string): Promise<void> {
  await generateDemoModels(join(dataDir, 'models'), join(dataDir, 'input'));
}
