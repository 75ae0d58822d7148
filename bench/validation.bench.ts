/**
 * Prompt validation throughput: a 50-node workflow validated end to end (structure, links, conversion, combos with a
 * folder-backed provider, hooks), against a JSON round trip of the same prompt measured in the same run.
 */
import { validatePrompt } from '../packages/core/src/validation/index.ts';
import { sampleEnv, sampleRegistry, sampleWorkflow } from '../packages/core/src/validation/sample-graph.ts';
import { opsPerSecond } from './measure.ts';
import type { BenchResult } from './types.ts';

// validatePrompt is async; the JSON baseline is awaited the same way so both pay the same per-call cost.
const RATE = { warmup: 200, batch: 50, awaitEach: true };

export default async function (): Promise<BenchResult[]> {
  const registry = sampleRegistry();
  const prompt = sampleWorkflow(50);
  const check = await validatePrompt(prompt, registry, sampleEnv);
  if (!check.ok || check.outputs.length !== 7) throw new Error('the benchmark workflow should validate with 7 outputs');

  const broken = sampleWorkflow(50);
  for (const id of ['4', '12', '20', '28', '36', '44']) {
    const node = broken[id];
    if (node) node.inputs = {};
  }
  const brokenCheck = await validatePrompt(broken, registry, sampleEnv);
  if (Object.keys(brokenCheck.nodeErrors).length === 0) throw new Error('the broken workflow should report errors');

  const roundTrip = await opsPerSecond(() => JSON.parse(JSON.stringify(prompt)), RATE);
  const valid = await opsPerSecond(() => validatePrompt(prompt, registry, sampleEnv), RATE);
  const failing = await opsPerSecond(() => validatePrompt(broken, registry, sampleEnv), RATE);
  const baseline = { name: 'JSON.parse+stringify of the same prompt (ops/s)', value: roundTrip };
  return [
    { name: 'validatePrompt, 50-node workflow', value: valid, unit: 'validations/s', better: 'higher', target: '>= 5000/s', baseline },
    { name: 'validatePrompt, 50-node workflow with 6 broken nodes', value: failing, unit: 'validations/s', better: 'higher', baseline },
  ];
}
