/**
 * Workflow format conversion speed on ComfyUI's USO template (28 nodes, nested subgraphs): UI -> API prompt, and the
 * laid-out API -> UI conversion, each against a JSON parse + stringify of the same document in the same run.
 */
import { readFileSync } from 'node:fs';
import { apiToUi, uiToApi } from '../packages/core/src/formats/index.ts';
import { usoObjectInfo } from '../packages/core/src/formats/test-object-info.ts';
import type { BenchResult } from './types.ts';

/** Best rate of several rounds: the machines here are shared, and the best round is the least disturbed. */
function opsPerSecond(fn: () => unknown, rounds = 5, roundMs = 300): number {
  for (let i = 0; i < 100; i++) fn();
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < roundMs) {
      for (let i = 0; i < 20; i++) fn();
      n += 20;
      elapsed = performance.now() - start;
    }
    best = Math.max(best, (n * 1000) / elapsed);
  }
  return best;
}

export default async function (): Promise<BenchResult[]> {
  const text = readFileSync(new URL('../../shared/fixtures/comfyui-uso/flux1_dev_uso_reference_image_gen.json', import.meta.url), 'utf8');
  const workflow: unknown = JSON.parse(text);
  const info = usoObjectInfo();
  const { prompt } = uiToApi(workflow, info);
  if (Object.keys(prompt).length !== 16) throw new Error('the template should convert to a 16-node prompt');
  const promptText = JSON.stringify(prompt);

  const jsonRoundTrip = opsPerSecond(() => JSON.stringify(JSON.parse(text)));
  const uiToApiRate = opsPerSecond(() => uiToApi(workflow, info));
  const promptRoundTrip = opsPerSecond(() => JSON.stringify(JSON.parse(promptText)));
  const apiToUiRate = opsPerSecond(() => apiToUi(prompt, info));
  return [
    {
      name: 'uiToApi, USO template (subgraphs)',
      value: Math.round(uiToApiRate),
      unit: 'conversions/s',
      better: 'higher',
      target: '>= 1000/s',
      baseline: { name: 'JSON parse+stringify of the workflow', value: Math.round(jsonRoundTrip) },
    },
    {
      name: 'apiToUi with layout, 16-node prompt',
      value: Math.round(apiToUiRate),
      unit: 'conversions/s',
      better: 'higher',
      target: '>= 1000/s',
      baseline: { name: 'JSON parse+stringify of the prompt', value: Math.round(promptRoundTrip) },
    },
  ];
}
