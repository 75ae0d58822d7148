/**
 * DEV-ONLY, first half of a full-size check against Hugging Face transformers (second half:
 * text-encoders-full-size-check.py, run where transformers is installed): builds our T5 encoder at t5-v1_1-xxl width
 * with 2 of its 24 layers and our CLIP-L text model (all 12 layers) over sparse F32 files with the published names, and
 * writes OUTDIR/{t5,clip}.onnx and OUTDIR/{t5,clip}-header.bin (the files' headers). The Python half fills files with
 * those headers from randomly initialised T5EncoderModel / CLIPTextModel and compares the outputs.
 * Run: node --import tsx packages/runtime/scripts/text-encoders-full-size-check.ts OUTDIR
 */
import { closeSync, mkdirSync, openSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildClipText, buildT5Encoder, GraphBuilder, readSafetensorsHeader, safetensorsWeights, writeSparseSafetensors } from '../src/index.ts';
import { CLIP_L_SIZES, clipLLayout, T5_XXL_SIZES, t5XxlLayout } from '../src/models/architectures/text-encoder-published.ts';

const out = process.argv[2]!;
const work = join(out, 'work');
mkdirSync(work, { recursive: true });

function emit(name: string, specs: Parameters<typeof writeSparseSafetensors>[1], build: (w: ReturnType<typeof safetensorsWeights>) => ReturnType<GraphBuilder['build']>) {
  const file = join(work, `${name}.safetensors`);
  writeSparseSafetensors(file, specs);
  const header = readSafetensorsHeader(file);
  const built = build(safetensorsWeights(header));
  writeFileSync(join(out, `${name}.onnx`), built.bytes);
  const fd = openSync(file, 'r');
  const bytes = Buffer.alloc(header.dataStart);
  readSync(fd, bytes, 0, header.dataStart, 0);
  closeSync(fd);
  writeFileSync(join(out, `${name}-header.bin`), bytes);
}

emit('t5', t5XxlLayout({ matrix: 'F32', embedding: 'F32', other: 'F32', depth: 2 }), (w) =>
  buildT5Encoder({ ...T5_XXL_SIZES, depth: 2, maxDistance: 128, eps: 1e-6, embeddingKey: 'shared.weight' }, w),
);
emit('clip', clipLLayout({ dtype: 'F32' }), (w) => buildClipText({ ...CLIP_L_SIZES, eps: 1e-5 }, w));
console.log('wrote', out);
