/**
 * Child process for the VAE decode figures: loads onnxruntime, notes the RSS, then decodes one random latent through
 * the comfy pack's VAE runner (whole, or VAEDecodeTiled's three tiled passes) with the model service, and prints
 * `{"ms", "cpuMs", "createMs", "baselineRssKiB", "maxRssKiB"}`. ms is the decode alone (the session is created first);
 * cpuMs its CPU time over all threads, which a loaded shared machine inflates far less than wall time.
 *
 * Usage: node --import tsx bench/support/vae-decode-once.ts <modelsDir> <vae file> <cacheDir> <latent h> <latent w> [tile overlap]
 */
import { loadOrt, randomWeight, Tensor } from '../../packages/runtime/src/index.ts';
import { createModelService, vaeDecodeRaw } from '../../nodes/comfy/src/index.ts';

const [modelsDir, file, cacheDir, h, w, tile, overlap] = process.argv.slice(2);
if (!modelsDir || !file || !cacheDir || !h || !w) throw new Error('usage: vae-decode-once.ts <modelsDir> <file> <cacheDir> <h> <w> [tile overlap]');
await loadOrt();
const baselineRssKiB = process.memoryUsage().rss / 1024;
// The session stays in this process (no isolation), so its RSS and CPU time are what this process measures.
const models = createModelService({ modelsDir, cacheDir, threads: 2, activationBudgetBytes: 2 ** 50, isolateRunsAboveBytes: Number.POSITIVE_INFINITY, log: () => {} });
const shape = [1, 16, Number(h), Number(w)];
const latent = Tensor.float32(shape, randomWeight('bench.latent', shape));
const tiling = tile ? { tiling: { tileH: Number(tile), tileW: Number(tile), overlap: Number(overlap ?? 0) } } : {};
const createStart = performance.now();
await models.session({ file, role: 'vae_decoder' });
const createMs = performance.now() - createStart;
const cpuBefore = process.cpuUsage();
const started = performance.now();
const image = await vaeDecodeRaw(models, file, latent, tiling);
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
if (image.shape[2] !== shape[2]! * 8) throw new Error(`decoded ${image.shape.join('x')}`);
process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, createMs, baselineRssKiB, maxRssKiB: process.resourceUsage().maxRSS }) + '\n');
await models.close();
