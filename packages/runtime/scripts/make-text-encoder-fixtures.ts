/**
 * DEV-ONLY: regenerates src/models/architectures/fixtures/text-encoders.json, the PyTorch reference outputs of the
 * tiny T5 and CLIP checkpoints (text-encoder-tiny.ts) in every stored dtype. Writes the checkpoints to a temporary
 * folder, runs scripts/text-encoder-reference.py (Debian's python3-torch) on them and keeps its outputs.
 * Run: npx tsx packages/runtime/scripts/make-text-encoder-fixtures.ts
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomCheckpoint } from '../src/models/random-weights.ts';
import { writeSafetensors } from '../src/safetensors/writer.ts';
import {
  TINY_CLIP, TINY_CLIP_SHAPE, TINY_DTYPES, TINY_T5, TINY_T5_SHAPE, tinyClipIds, tinyClipSpecs, tinyT5Ids, tinyT5Specs,
} from '../src/models/architectures/text-encoder-tiny.ts';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'text-encoder-fixtures-'));
try {
  for (const dtype of TINY_DTYPES) {
    writeSafetensors(join(dir, `t5-${dtype}.safetensors`), randomCheckpoint(tinyT5Specs(), dtype).tensors);
    writeSafetensors(join(dir, `clip-${dtype}.safetensors`), randomCheckpoint(tinyClipSpecs(), dtype).tensors);
  }
  const inputs = {
    dtypes: TINY_DTYPES,
    t5: { ...TINY_T5_SHAPE, heads: TINY_T5.heads, depth: TINY_T5.depth, ids: tinyT5Ids() },
    clip: { ...TINY_CLIP_SHAPE, depth: TINY_CLIP.depth, ids: tinyClipIds() },
  };
  writeFileSync(join(dir, 'inputs.json'), JSON.stringify(inputs));
  execFileSync('/usr/bin/python3', [join(here, 'text-encoder-reference.py'), dir], { stdio: 'inherit' });
  const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
  const out = join(here, '../src/models/architectures/fixtures/text-encoders.json');
  const note = 'PyTorch 1.13 float64 reference (scripts/text-encoder-reference.py) of the tiny checkpoints of text-encoder-tiny.ts';
  writeFileSync(out, `${JSON.stringify({ note, ...reference }, null, 1)}\n`);
  console.log('wrote', out);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
