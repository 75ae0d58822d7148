/**
 * The demo model set is written on first start (and by `pnpm models:demo`): it must stay fast and small.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDemoModels } from '../packages/runtime/src/models/demo/generate.ts';
import type { BenchResult } from './types.ts';

export default async function (): Promise<BenchResult[]> {
  let best = Infinity;
  let bytes = 0;
  for (let round = 0; round < 3; round++) {
    const root = mkdtempSync(join(tmpdir(), 'demo-bench-'));
    const start = performance.now();
    const { written } = await generateDemoModels(join(root, 'models'), join(root, 'input'));
    best = Math.min(best, performance.now() - start);
    bytes = written.reduce((sum, f) => sum + statSync(f).size, 0);
    rmSync(root, { recursive: true, force: true });
  }
  return [
    { name: 'demo models: generate all files', value: best, unit: 'ms', better: 'lower', target: '< 2000 ms' },
    { name: 'demo models: total size', value: bytes / 2 ** 20, unit: 'MiB', better: 'lower', target: '< 20 MiB' },
  ];
}
