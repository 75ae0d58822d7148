/**
 * The weights/dtype rule, measured: a graph over 256 MB of bf16 weights (a synthesised sparse file) and 128 MB of fp8
 * weights, session created in a child process. With onnxruntime's ConstantFolding on (the old default) the Cast of
 * each bf16 initializer becomes a float32 copy at creation; with the graph's `disableConstantFolding` it stays mapped.
 * fp8 weights go through DequantizeLinear, which is never folded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, readSafetensorsHeader, safetensorsWeights, writeSparseSafetensors, type SafetensorsDType } from '../packages/runtime/src/index.ts';
import { measureSessionCreation } from './support/session-memory.ts';
import type { BenchFile, BenchResult } from './types.ts';

const ROWS = 8192;
const COLS = 16384;

function linearGraph(dir: string, dtype: SafetensorsDType) {
  const file = join(dir, `w-${dtype}.safetensors`);
  writeSparseSafetensors(file, { 'proj.weight': { dtype, shape: [ROWS, COLS] } });
  const g = new GraphBuilder({ weights: safetensorsWeights(readSafetensorsHeader(file)) });
  const x = g.input('x', 'float32', [1, COLS]);
  g.output(g.gemm(x, g.weight('proj.weight'), { transB: true }), 'y', 'float32', [1, ROWS]);
  const built = g.save(join(dir, `m-${dtype}.onnx`));
  return { path: built.path, externalDataDir: built.externalDataDir, disableConstantFolding: built.castsWeights };
}

const bench: BenchFile = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-weights-'));
  try {
    const bf16 = linearGraph(dir, 'BF16');
    const fp8 = linearGraph(dir, 'F8_E4M3');
    const options = { disablePrepacking: true, intraOpNumThreads: 2 };
    const folded = measureSessionCreation({ ...bf16, disableConstantFolding: false }, options);
    const mapped = measureSessionCreation(bf16, options);
    const fp8Mapped = measureSessionCreation(fp8, options);
    const f32MiB = (ROWS * COLS * 4) / 2 ** 20;
    process.stderr.write(`weights: bf16 folded ${folded.peakAboveBaselineMiB.toFixed(0)} MiB / ${folded.ms.toFixed(0)} ms, mapped ${mapped.peakAboveBaselineMiB.toFixed(0)} MiB / ${mapped.ms.toFixed(0)} ms; fp8 ${fp8Mapped.peakAboveBaselineMiB.toFixed(0)} MiB\n`);
    const results: BenchResult[] = [
      {
        name: 'weights: session creation over 256 MB of bf16 weights, peak RSS above baseline (casts kept unfolded)',
        value: mapped.peakAboveBaselineMiB, unit: 'MiB', better: 'lower', target: `<= ${(f32MiB * 0.1).toFixed(0)} MiB (a tenth of the float32 copy)`,
        baseline: { name: 'same graph with ConstantFolding on (float32 copy), MiB', value: folded.peakAboveBaselineMiB },
      },
      {
        name: 'weights: session creation over 256 MB of bf16 weights, time (casts kept unfolded)',
        value: mapped.ms, unit: 'ms', better: 'lower',
        baseline: { name: 'with ConstantFolding on, ms', value: folded.ms },
      },
      {
        name: 'weights: session creation over 128 MB of fp8 weights (DequantizeLinear), peak RSS above baseline',
        value: fp8Mapped.peakAboveBaselineMiB, unit: 'MiB', better: 'lower', target: `<= ${(f32MiB * 0.1).toFixed(0)} MiB`,
        baseline: { name: 'float32 size of the same weights, MiB', value: f32MiB },
      },
    ];
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export default bench;
