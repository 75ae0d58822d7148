/**
 * Accelerator check of the float16 compute path (issue 9): one full-width FLUX double block (hidden 3072, 24 heads,
 * 512 text + 4096 image tokens) with random BF16 weights, built in float32 and through the mixed-precision pass
 * (products in float16), both run on the requested provider (default webgpu, falling back to the CPU with a logged
 * reason). Prints which provider ran, session and run times, and how far the float16 result is from float32.
 * Self-contained: the weights are written here (random, seeded), nothing is downloaded. Bundle it with esbuild to run
 * where there is no Node (scripts/gpu-check.sh --bundle, then SCRIPT=gpu-mixed-precision .tmp/gpu/run.sh).
 *
 * Run: node --import tsx scripts/gpu-mixed-precision.ts [webgpu|cuda|cpu]
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GraphBuilder, SessionPool, Tensor, readSafetensorsHeader, safetensorsWeights, toFloat16Products, writeSparseSafetensors, type Provider,
} from '../packages/runtime/src/index.ts';
import { FLUX_CONFIGS } from '../packages/runtime/src/models/architectures/flux-dit-config.ts';
import { doubleBlock, jointRope } from '../packages/runtime/src/models/architectures/flux-dit.ts';
import { fluxSparseSpecs } from '../packages/runtime/src/models/architectures/flux-dit-full-size.ts';

const TXT = 512;
const IMG = 4096;
const provider = (process.argv[2] ?? 'webgpu') as Provider;
const c = { ...FLUX_CONFIGS['flux-dev'], doubleBlocks: 1, singleBlocks: 0 };
const C = c.hidden;
const dir = mkdtempSync(join(tmpdir(), 'uso-mixed-'));
const started = performance.now();

/** Fills the data section of a sparse file with random bf16 values (std about 0.02, norm scales near 1). */
function fillRandomBf16(file: string): void {
  const header = readSafetensorsHeader(file);
  const fd = openSync(file, 'r+');
  let seed = 12345;
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (const t of header.tensors.values()) {
    const n = t.length / 2;
    const bits = new Uint16Array(n);
    const one = t.shape.length === 1 && t.name.endsWith('.scale');
    for (let i = 0; i < n; i++) {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      const u = seed / 2 ** 32 - 0.5; // uniform, std 0.29
      const v = one ? 1 + 0.2 * u : 0.07 * u;
      f32[0] = v;
      bits[i] = u32[0]! >>> 16;
    }
    writeSync(fd, new Uint8Array(bits.buffer), 0, t.length, t.offset);
  }
  closeSync(fd);
}

try {
  const file = join(dir, 'double-block-bf16.safetensors');
  writeSparseSafetensors(file, Object.fromEntries(Object.entries(fluxSparseSpecs(c, 'BF16')).filter(([k]) => k.startsWith('double_blocks.0.'))));
  fillRandomBf16(file);
  const g = new GraphBuilder({ weights: safetensorsWeights(readSafetensorsHeader(file)) });
  const [txt, img, vec] = [g.input('txt', 'float32', [1, TXT, C]), g.input('img', 'float32', [1, IMG, C]), g.input('vec', 'float32', [1, C])];
  const [txtIds, imgIds] = [g.input('txt_ids', 'float32', [1, TXT, 3]), g.input('img_ids', 'float32', [1, IMG, 3])];
  const [t, m] = doubleBlock(g, 0, txt, img, vec, jointRope(g, txtIds, imgIds, c), g.constInt64([TXT, IMG]), c);
  g.output(t, 'txt_out', 'float32');
  g.output(m, 'img_out', 'float32');
  const built = g.save(join(dir, 'block-f32.onnx'));
  const mixed = toFloat16Products(built.bytes);
  writeFileSync(join(dir, 'block-f16.onnx'), mixed.bytes);
  const feeds = {
    txt: Tensor.float32([1, TXT, C], new Float32Array(TXT * C).map((_, i) => Math.sin(i * 0.37))),
    img: Tensor.float32([1, IMG, C], new Float32Array(IMG * C).map((_, i) => Math.sin(i * 0.11))),
    vec: Tensor.float32([1, C], new Float32Array(C).map((_, i) => Math.cos(i) * 0.5)),
    txt_ids: Tensor.zeros([1, TXT, 3]),
    img_ids: Tensor.float32([1, IMG, 3], new Float32Array(IMG * 3).map((_, i) => (i % 3 === 0 ? 0 : i % 3 === 1 ? Math.floor(i / 3 / 64) : Math.floor(i / 3) % 64))),
  };
  const outputs: Record<string, Float32Array> = {};
  for (const variant of ['f32', 'f16'] as const) {
    const pool = new SessionPool({ log: (line) => console.log(`  ${line}`) });
    const t0 = performance.now();
    const session = await pool.acquire({ path: join(dir, `block-${variant}.onnx`), disableConstantFolding: true }, { provider });
    const createMs = performance.now() - t0;
    const runs: number[] = [];
    for (let i = 0; i < (session.provider === 'cpu' ? 1 : 4); i++) {
      const r0 = performance.now();
      const out = await pool.run(session, feeds);
      runs.push(performance.now() - r0);
      outputs[variant] = out.img_out!.data as Float32Array;
    }
    console.log(`${variant}: requested ${provider}, ran on ${session.provider}; session ${createMs.toFixed(0)} ms; runs ${runs.map((r) => r.toFixed(0)).join(', ')} ms`);
    await pool.close();
  }
  const [a, b] = [outputs.f32!, outputs.f16!];
  let worst = 0;
  let scale = 0;
  let finite = true;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(b[i]!)) finite = false;
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  console.log(`float16 products vs float32: max abs diff ${worst.toExponential(2)} on outputs up to ${scale.toFixed(2)} (relative ${(worst / scale).toExponential(2)}); all finite: ${finite}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
