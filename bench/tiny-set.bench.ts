/**
 * The USO style + subject workflow (workflows/uso-style-subject.json, 512x512, 20 steps) on the tiny real-architecture
 * set (`uso-studio models tiny`: the real FLUX DiT, VAE, T5, CLIP-L, SigLIP, USO LoRA and projector graphs at toy
 * widths), beside the same workflow on the demo set measured in the same run (the machines here are noisy).
 *
 * Figures per set: warm full run (best of 3, fresh executor on warm sessions), the share of a sampling step spent
 * outside onnxruntime (target <= 5 %), and the peak RSS of one headless run in a child process of its own. The harness
 * is the one bench/uso-pipeline.bench.ts uses (support/pipeline-harness.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uiToApi, type ApiPrompt, type HostEnvironment } from '../packages/core/src/index.ts';
import { TINY_FILES, generateDemoModels, generateTinyModels } from '../packages/runtime/src/index.ts';
import { applyOverrides, parseOverride } from '../packages/cli/src/index.ts';
import { createPipelineHarness, outsideOrt, type Timed } from './support/pipeline-harness.ts';
import type { BenchResult } from './types.ts';

const WORKFLOW = fileURLToPath(new URL('../workflows/uso-style-subject.json', import.meta.url));
const RUN_ONCE = fileURLToPath(new URL('./support/uso-run-once.ts', import.meta.url));
const SAMPLER = '20';

/** The workflow's loaders pointed at the tiny files (the `--set` overrides a user would pass). */
const TINY_SET = [
  `CheckpointLoaderSimple.ckpt_name=${basename(TINY_FILES.checkpoint)}`,
  `LoraLoaderModelOnly.lora_name=${basename(TINY_FILES.lora)}`,
  `ModelPatchLoader.name=${basename(TINY_FILES.projector)}`,
  `CLIPVisionLoader.clip_name=${basename(TINY_FILES.vision)}`,
];

interface SetFigures {
  warm: Timed;
  step: Timed;
  rssMiB: number;
}

async function measure(root: string, overrides: readonly string[], generate: (env: HostEnvironment) => Promise<unknown> | unknown): Promise<SetFigures> {
  const env: HostEnvironment = { inputDir: join(root, 'input'), outputDir: join(root, 'output'), tempDir: join(root, 'temp'), modelsDir: join(root, 'models'), services: {} };
  await generate(env);
  const harness = await createPipelineHarness(env, SAMPLER);
  try {
    const base = applyOverrides(uiToApi(JSON.parse(readFileSync(WORKFLOW, 'utf8')), harness.registry.objectInfo(env)).prompt, overrides.map(parseOverride));
    if (base[SAMPLER]?.inputs.steps !== 20 || base['19']?.inputs.width !== 512) throw new Error('workflow is not at the bench setting');
    const withSeed = (seed: number): ApiPrompt => {
      const p = structuredClone(base);
      p[SAMPLER]!.inputs.seed = seed;
      return p;
    };
    await harness.run(withSeed(1)); // cold: graphs built, sessions created
    const warm: Timed[] = [];
    for (let i = 0; i < 3; i++) warm.push(await harness.run(withSeed(10 + i), harness.newExecutor()));
    const child = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', RUN_ONCE, WORKFLOW, root, ...overrides], { encoding: 'utf8' }).trim().split('\n').at(-1)!) as { maxRssKiB: number };
    return {
      warm: warm.reduce((a, b) => (a.ms < b.ms ? a : b)),
      step: warm.reduce((a, b) => (outsideOrt(a) < outsideOrt(b) ? a : b)),
      rssMiB: child.maxRssKiB / 1024,
    };
  } finally {
    await harness.dispose();
  }
}

export default async function (): Promise<BenchResult[]> {
  const tinyRoot = mkdtempSync(join(tmpdir(), 'uso-bench-tiny-'));
  const demoRoot = mkdtempSync(join(tmpdir(), 'uso-bench-demo-'));
  try {
    const tiny = await measure(tinyRoot, TINY_SET, (env) => generateTinyModels(env.modelsDir, env.inputDir));
    const demo = await measure(demoRoot, [], (env) => generateDemoModels(env.modelsDir, env.inputDir));
    process.stderr.write(
      `tiny-set: warm ${tiny.warm.ms.toFixed(0)} ms (sampler ${tiny.warm.samplerMs.toFixed(0)} ms, ${tiny.warm.samplerOrtMs.toFixed(0)} ms in ORT), ` +
        `step ${tiny.step.stepMs.toFixed(2)} ms with ${tiny.step.stepOrtMs.toFixed(2)} ms in ORT, RSS ${tiny.rssMiB.toFixed(0)} MiB; ` +
        `demo: warm ${demo.warm.ms.toFixed(0)} ms, step ${demo.step.stepMs.toFixed(2)} ms with ${demo.step.stepOrtMs.toFixed(2)} ms in ORT, RSS ${demo.rssMiB.toFixed(0)} MiB\n`,
    );
    return [
      {
        name: 'tiny real-architecture set: uso style+subject 512² 20 steps, full run, warm sessions (best of 3)',
        value: tiny.warm.ms, unit: 'ms', better: 'lower',
        baseline: { name: 'demo set, same run (ms)', value: demo.warm.ms },
      },
      {
        name: 'tiny real-architecture set: sampling step time (between progress events)',
        value: tiny.step.stepMs, unit: 'ms/step', better: 'lower',
        baseline: { name: 'demo set, same run (ms/step)', value: demo.step.stepMs },
      },
      {
        name: 'tiny real-architecture set: share of step time outside onnxruntime',
        value: 100 * outsideOrt(tiny.step), unit: '%', better: 'lower', target: '<= 5 %',
        baseline: { name: 'demo set, same run (%)', value: 100 * outsideOrt(demo.step) },
      },
      {
        name: 'tiny real-architecture set: uso style+subject 512² 20 steps, peak RSS of one headless run (child process)',
        value: tiny.rssMiB, unit: 'MiB', better: 'lower',
        baseline: { name: 'demo set, same run (MiB)', value: demo.rssMiB },
      },
    ];
  } finally {
    rmSync(tinyRoot, { recursive: true, force: true });
    rmSync(demoRoot, { recursive: true, force: true });
  }
}
