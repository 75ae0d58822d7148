/**
 * DEV-ONLY, first half of a full-size check against Hugging Face transformers (run the second half,
 * siglip-full-size-check.py, where transformers is installed): builds our SigLIP so400m graph over a sparse F32
 * vision-tower file with the published names and writes OUTDIR/siglip.onnx and OUTDIR/header.bin (the file header);
 * the Python half fills a file with that header from a random SiglipVisionModel and compares the outputs.
 * Run: node --import tsx packages/runtime/scripts/siglip-full-size-check.ts OUTDIR
 */
import { copyFileSync, mkdirSync, openSync, readSync, writeFileSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultArchitectures, loadModelGraph, readSafetensorsHeader, writeSparseSafetensors } from '../src/index.ts';
import { siglipVisionLayout } from '../src/models/architectures/siglip-published.ts';
const out = process.argv[2]!;
mkdirSync(out, { recursive: true });
const work = join(out, 'work');
mkdirSync(work, { recursive: true });
const file = join(work, 's.safetensors');
writeSparseSafetensors(file, siglipVisionLayout('F32'));
const graph = await loadModelGraph(file, 'vision_encoder', join(work, 'graphs'), defaultArchitectures());
copyFileSync(graph.path, join(out, 'siglip.onnx'));
const h = readSafetensorsHeader(file);
const fd = openSync(file, 'r');
const bytes = Buffer.alloc(h.dataStart);
readSync(fd, bytes, 0, h.dataStart, 0);
closeSync(fd);
writeFileSync(join(out, 'header.bin'), bytes);
console.log(JSON.stringify({ externalDataDir: graph.externalDataDir, config: graph.config, dataStart: h.dataStart, onnxBytes: readFileSync(graph.path).length }));
