/**
 * GPU check (issue 9): one full-width FLUX double block at 1024x1024 (4096 image + 512 text tokens, hidden 3072,
 * 24 heads, float32) through onnxruntime-node's CUDA provider, else its WebGPU provider, else the CPU, printing which
 * provider really ran it (the session pool falls back with a logged reason), session creation time and run times.
 * Self-contained: weights are a synthesised sparse file (zeros; timing does not depend on values), nothing is
 * downloaded. Finishes well within 3 minutes on a GPU; on the CPU it runs one timed pass only.
 *
 * Run: scripts/gpu-check.sh   (or: node --import tsx scripts/gpu-check.ts [cuda|webgpu|cpu ...])
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GraphBuilder, SessionPool, Tensor, readSafetensorsHeader, safetensorsWeights, writeSparseSafetensors, type Provider,
} from '../packages/runtime/src/index.ts';
import { FLUX_CONFIGS } from '../packages/runtime/src/models/architectures/flux-dit-config.ts';
import { doubleBlock, jointRope } from '../packages/runtime/src/models/architectures/flux-dit.ts';
import { fluxSparseSpecs } from '../packages/runtime/src/models/architectures/flux-dit-full-size.ts';

if (process.argv[2] === 'full-session') {
  // Extra: creation of the full-size DiT session (sparse BF16 file) on the CPU, to compare machines.
  const { loadModelGraph, defaultArchitectures } = await import('../packages/runtime/src/index.ts');
  const { writeFluxLayout } = await import('../packages/runtime/src/models/architectures/flux-dit-full-size.ts');
  const work = mkdtempSync(join(tmpdir(), 'uso-gpu-check-full-'));
  try {
    const path = writeFluxLayout(work, 'bfl-dev-bf16');
    const graph = await loadModelGraph(path, 'dit', join(work, 'graphs'), defaultArchitectures());
    const pool = new SessionPool();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await pool.acquire(graph, { disablePrepacking: true });
    const cpu = process.cpuUsage(cpu0);
    console.log(`full-size FLUX DiT (sparse BF16) session on the CPU: ${(performance.now() - t0).toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU`);
    await pool.close();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.exit(0);
}

const TXT = 512;
const IMG = 4096;
const started = performance.now();
const providers = (process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['cuda', 'webgpu', 'cpu']) as Provider[];
const c = { ...FLUX_CONFIGS['flux-dev'], doubleBlocks: 1, singleBlocks: 0 };
const C = c.hidden;
const dir = mkdtempSync(join(tmpdir(), 'uso-gpu-check-'));
const lines: string[] = [];
const say = (line: string) => {
  lines.push(line);
  console.log(line);
};

try {
  const file = join(dir, 'double-block-f32.safetensors');
  writeSparseSafetensors(file, Object.fromEntries(Object.entries(fluxSparseSpecs(c, 'F32')).filter(([k]) => k.startsWith('double_blocks.0.'))));
  const g = new GraphBuilder({ weights: safetensorsWeights(readSafetensorsHeader(file)) });
  const [txt, img, vec] = [g.input('txt', 'float32', [1, TXT, C]), g.input('img', 'float32', [1, IMG, C]), g.input('vec', 'float32', [1, C])];
  const [txtIds, imgIds] = [g.input('txt_ids', 'float32', [1, TXT, 3]), g.input('img_ids', 'float32', [1, IMG, 3])];
  const [t, m] = doubleBlock(g, 0, txt, img, vec, jointRope(g, txtIds, imgIds, c), g.constInt64([TXT, IMG]), c);
  g.output(t, 'txt_out', 'float32');
  g.output(m, 'img_out', 'float32');
  const model = join(dir, 'double-block.onnx');
  g.save(model);
  const feeds = {
    txt: Tensor.float32([1, TXT, C], new Float32Array(TXT * C).map((_, i) => Math.sin(i * 0.37))),
    img: Tensor.float32([1, IMG, C], new Float32Array(IMG * C).map((_, i) => Math.sin(i * 0.11))),
    vec: Tensor.float32([1, C], new Float32Array(C).map((_, i) => Math.cos(i) * 0.1)),
    txt_ids: Tensor.zeros([1, TXT, 3]),
    img_ids: Tensor.float32([1, IMG, 3], new Float32Array(IMG * 3).map((_, i) => (i % 3 === 0 ? 0 : i % 3 === 1 ? Math.floor(i / 3 / 64) : Math.floor(i / 3) % 64))),
  };
  say(`gpu-check: FLUX double block, hidden ${C}, ${c.heads} heads, ${TXT} text + ${IMG} image tokens, float32 (weights ${(1.36).toFixed(2)} GB)`);
  for (const provider of providers) {
    const pool = new SessionPool({ log: (line) => say(`  ${line}`) });
    try {
      const t0 = performance.now();
      const session = await pool.acquire({ path: model }, { provider });
      const createMs = performance.now() - t0;
      const runs: number[] = [];
      const passes = session.provider === 'cpu' ? 1 : 4;
      for (let i = 0; i < passes; i++) {
        const r0 = performance.now();
        const out = await pool.run(session, feeds);
        runs.push(performance.now() - r0);
        if (i === 0 && !Number.isFinite((out.img_out!.data as Float32Array)[0]!)) say('  (non-finite output)');
      }
      say(`requested ${provider}: ran on ${session.provider}; session ${createMs.toFixed(0)} ms; runs ${runs.map((r) => r.toFixed(0)).join(', ')} ms (first includes warm-up)`);
      if (session.provider !== 'cpu') break; // one accelerator result is what we came for
    } catch (error) {
      say(`requested ${provider}: failed: ${(error as Error).message.split('\n')[0]}`);
    } finally {
      await pool.close();
    }
    if (performance.now() - started > 150_000) {
      say('stopping: close to the 3-minute budget');
      break;
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  say(`gpu-check: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
