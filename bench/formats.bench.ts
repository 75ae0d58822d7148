/**
 * Workflow format conversion speed on ComfyUI's USO template (28 nodes, nested subgraphs): UI -> API prompt, and the
 * laid-out API -> UI conversion, each against a JSON parse + stringify of the same document in the same run.
 */
import { readFileSync } from 'node:fs';
import { apiToUi, uiToApi } from '../packages/core/src/formats/index.ts';
import { usoObjectInfo } from '../packages/core/src/formats/test-object-info.ts';
import { opsPerSecond } from './measure.ts';
import type { BenchResult } from './types.ts';

const RATE = { warmup: 100, batch: 20 };

export default async function (): Promise<BenchResult[]> {
  const text = readFileSync(new URL('../../shared/fixtures/comfyui-uso/flux1_dev_uso_reference_image_gen.json', import.meta.url), 'utf8');
  const workflow: unknown = JSON.parse(text);
  const info = usoObjectInfo();
  const { prompt } = uiToApi(workflow, info);
  if (Object.keys(prompt).length !== 16) throw new Error('the template should convert to a 16-node prompt');
  const promptText = JSON.stringify(prompt);

  const jsonRoundTrip = await opsPerSecond(() => JSON.stringify(JSON.parse(text)), RATE);
  const uiToApiRate = await opsPerSecond(() => uiToApi(workflow, info), RATE);
  const promptRoundTrip = await opsPerSecond(() => JSON.stringify(JSON.parse(promptText)), RATE);
  const apiToUiRate = await opsPerSecond(() => apiToUi(prompt, info), RATE);
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
