import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArchitectureRegistry, countIndexed, type Architecture, type KeyLayout } from './architecture.ts';
import { MissingWeightsError, UnknownArchitectureError, detectArchitecture, loadModelGraph } from './loader.ts';
import { readModelHeader } from '../safetensors/model-files.ts';
import { ContractError } from './contract.ts';
import { GraphBuilder } from '../onnx/graph-builder.ts';
import { linear } from '../onnx/blocks.ts';
import { writeSafetensors } from '../safetensors/writer.ts';
import { readSafetensorsHeader } from '../safetensors/header.ts';
import { randomCheckpoint, randomWeight } from './random-weights.ts';
import { SessionPool } from '../session/session-pool.ts';
import { Tensor } from '../tensor/tensor.ts';

interface TinyProjectorConfig {
  width: number;
  hidden: number;
  layers: number;
}

/** A toy projector honouring the projector contract: flatten K and T, then `layers` Linear layers. */
function tinyProjector(version = 1, outputName = 'style_tokens'): Architecture<TinyProjectorConfig> {
  return {
    id: 'tiny-projector',
    version,
    role: 'projector',
    keyPrefixes: ['feature_embedder.', ''],
    detect: (h) => h.tensors.has('proj.0.weight'),
    inferConfig: (h) => {
      const [hidden, width] = h.tensors.get('proj.0.weight')!.shape as [number, number];
      return { width, hidden, layers: countIndexed(h, 'proj.') };
    },
    requiredWeights: (c) => Array.from({ length: c.layers }, (_, i) => [`proj.${i}.weight`, `proj.${i}.bias`]).flat(),
    build: (c, weights) => {
      const g = new GraphBuilder({ name: 'tiny_projector', weights, metadata: { architecture: 'tiny-projector' } });
      const hs = g.input('hidden_states', 'float32', ['B', 'K', 'T', c.width]);
      let x = g.reshape(hs, [0, -1, c.width], 'flatten'); // [B, K*T, width]
      for (let i = 0; i < c.layers; i++) x = linear(g, x, `proj.${i}`); // [B, K*T, hidden]
      g.output(x, outputName, 'float32', ['B', 'S', c.hidden]);
      return g.build();
    },
  };
}

const root = mkdtempSync(join(tmpdir(), 'loader-'));
const pool = new SessionPool();
afterAll(() => pool.releaseAll());

function writeProjector(name: string, prefix = '', layers = 1, drop?: string): string {
  const specs: Record<string, { shape: number[]; std: number }> = {};
  for (let i = 0; i < layers; i++) {
    const inW = i === 0 ? 4 : 6;
    specs[`${prefix}proj.${i}.weight`] = { shape: [6, inW], std: 0.5 };
    specs[`${prefix}proj.${i}.bias`] = { shape: [6], std: 0.1 };
  }
  if (drop) delete specs[drop];
  const file = join(root, `${name}.safetensors`);
  writeSafetensors(file, randomCheckpoint(specs, 'BF16').tensors);
  return file;
}

describe('loadModelGraph', () => {
  it('detects, infers the config, builds, caches and runs', async () => {
    const registry = new ArchitectureRegistry().register(tinyProjector());
    const file = writeProjector('proj-a');
    const cache = join(root, 'cache-a');
    const graph = await loadModelGraph(file, 'projector', cache, registry);
    expect(graph).toMatchObject({ architecture: 'tiny-projector', version: 1, role: 'projector', keyPrefix: '', cached: false });
    expect(graph.config).toEqual({ width: 4, hidden: 6, layers: 1 });
    expect(graph.path.startsWith(cache)).toBe(true);
    expect(graph.externalDataDir).toBe(root);
    expect(graph.weightBytes).toBeGreaterThanOrEqual((24 + 6) * 2); // bf16 weights, plus small inline shape constants
    expect(graph.weightBytes).toBeLessThan(200);

    const again = await loadModelGraph(file, 'projector', cache, registry);
    expect(again.cached).toBe(true);
    expect(again.path).toBe(graph.path);
    expect(again.externalDataDir).toBe(graph.externalDataDir);

    const { values } = randomCheckpoint({ 'proj.0.weight': { shape: [6, 4], std: 0.5 }, 'proj.0.bias': { shape: [6], std: 0.1 } }, 'BF16');
    const hs = randomWeight('hs', [1, 2, 3, 4]);
    const s = await pool.acquire(again, { disablePrepacking: true });
    const { style_tokens: out } = await pool.run(s, { hidden_states: Tensor.float32([1, 2, 3, 4], hs) });
    expect(out!.shape).toEqual([1, 6, 6]);
    const w = values['proj.0.weight']!;
    const b = values['proj.0.bias']!;
    for (let r = 0; r < 6; r++) {
      for (let o = 0; o < 6; o++) {
        let ref = b[o]!;
        for (let i = 0; i < 4; i++) ref += hs[r * 4 + i]! * w[o * 4 + i]!;
        expect((out!.data as Float32Array)[r * 6 + o]).toBeCloseTo(ref, 5);
      }
    }
  });

  it('strips a known key prefix before detection and config inference', async () => {
    const registry = new ArchitectureRegistry().register(tinyProjector());
    const file = writeProjector('proj-prefixed', 'feature_embedder.', 2);
    const graph = await loadModelGraph(file, 'projector', join(root, 'cache-b'), registry);
    expect(graph.keyPrefix).toBe('feature_embedder.');
    expect(graph.config).toEqual({ width: 4, hidden: 6, layers: 2 });
    const s = await pool.acquire(graph);
    const { style_tokens: out } = await pool.run(s, { hidden_states: Tensor.float32([2, 1, 5, 4], randomWeight('x', [2, 1, 5, 4])) });
    expect(out!.shape).toEqual([2, 5, 6]);
  });

  it('names the file and the missing keys of an incomplete checkpoint', async () => {
    const registry = new ArchitectureRegistry().register(tinyProjector());
    const file = writeProjector('proj-broken', 'feature_embedder.', 2, 'feature_embedder.proj.1.bias');
    const attempt = loadModelGraph(file, 'projector', join(root, 'cache-c'), registry);
    await expect(attempt).rejects.toThrow(MissingWeightsError);
    await expect(attempt).rejects.toThrow(
      /proj-broken\.safetensors: incomplete tiny-projector checkpoint: 1 required weight\(s\) missing: feature_embedder\.proj\.1\.bias/,
    );
  });

  it('names the file, the role and the candidates when nothing matches', async () => {
    const registry = new ArchitectureRegistry().register(tinyProjector());
    const file = join(root, 'other.safetensors');
    writeSafetensors(file, { 'encoder.block.0.weight': { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
    await expect(loadModelGraph(file, 'projector', join(root, 'cache-d'), registry)).rejects.toThrow(
      /other\.safetensors: no known projector architecture matches its weights \(tried: tiny-projector; first keys: encoder\.block\.0\.weight\)/,
    );
    await expect(loadModelGraph(file, 'dit', join(root, 'cache-d'), registry)).rejects.toThrow(UnknownArchitectureError);
    await expect(loadModelGraph(join(root, 'absent.safetensors'), 'dit', root, registry)).rejects.toThrow(/absent\.safetensors: file not found/);
  });

  it('rebuilds when the file changes or the architecture version is bumped', async () => {
    const cache = join(root, 'cache-e');
    const file = writeProjector('proj-change');
    const v1 = new ArchitectureRegistry().register(tinyProjector(1));
    const first = await loadModelGraph(file, 'projector', cache, v1);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const touched = await loadModelGraph(file, 'projector', cache, v1);
    expect(touched.cached).toBe(false);
    expect(touched.path).not.toBe(first.path);
    const v2 = await loadModelGraph(file, 'projector', cache, new ArchitectureRegistry().register(tinyProjector(2)));
    expect(v2.cached).toBe(false);
    expect(v2.path).toMatch(/tiny-projector-v2-proj-change\.safetensors-[0-9a-f]{16}\.onnx$/);
  });

  it('reads a shard folder in another naming scheme through the architecture\'s key layout', async () => {
    const toyLayout: KeyLayout = {
      id: 'toy',
      matches: (names) => names.some((n) => n.startsWith('layers.')),
      toCanonical: (name) => {
        const m = /^layers\.(\d+)\.(w|b)$/.exec(name);
        return m ? `proj.${m[1]}.${m[2] === 'w' ? 'weight' : 'bias'}` : undefined;
      },
    };
    const registry = new ArchitectureRegistry().register({ ...tinyProjector(), keyLayouts: [toyLayout] });
    const { tensors } = randomCheckpoint({ 'proj.0.weight': { shape: [6, 4], std: 0.5 }, 'proj.0.bias': { shape: [6], std: 0.1 } }, 'F32');
    const folder = join(root, 'toy-shards');
    mkdirSync(folder);
    writeSafetensors(join(folder, 'm-1.safetensors'), { 'layers.0.w': tensors['proj.0.weight']!, 'extra.thing': tensors['proj.0.bias']! });
    writeSafetensors(join(folder, 'm-2.safetensors'), { 'layers.0.b': tensors['proj.0.bias']! });
    writeFileSync(join(folder, 'm.safetensors.index.json'), JSON.stringify({
      weight_map: { 'layers.0.w': 'm-1.safetensors', 'extra.thing': 'm-1.safetensors', 'layers.0.b': 'm-2.safetensors' },
    }));
    const header = readModelHeader(folder);
    const detected = detectArchitecture(header, 'projector', registry);
    expect(detected.keyLayout).toBe('toy');
    expect(detected.unmapped).toEqual(['extra.thing']);

    const graph = await loadModelGraph(folder, 'projector', join(root, 'cache-g'), registry);
    expect(graph).toMatchObject({ keyLayout: 'toy', config: { width: 4, hidden: 6, layers: 1 }, disableConstantFolding: false });
    const single = join(root, 'toy-single.safetensors');
    writeSafetensors(single, tensors);
    const reference = await loadModelGraph(single, 'projector', join(root, 'cache-g'), registry);
    const hs = Tensor.float32([1, 1, 3, 4], randomWeight('hs-toy', [1, 1, 3, 4]));
    const a = (await pool.run(await pool.acquire(graph), { hidden_states: hs })).style_tokens!.data;
    const b = (await pool.run(await pool.acquire(reference), { hidden_states: hs })).style_tokens!.data;
    expect([...a]).toEqual([...b]);
    // A shard changing invalidates the cached graph of the folder.
    utimesSync(join(folder, 'm-2.safetensors'), new Date(), new Date(Date.now() + 5000));
    expect((await loadModelGraph(folder, 'projector', join(root, 'cache-g'), registry)).cached).toBe(false);
  });

  it('records the compute dtype and whether sessions must keep casts unfolded', async () => {
    const registry = new ArchitectureRegistry().register(tinyProjector());
    const bf16 = await loadModelGraph(writeProjector('proj-dtype'), 'projector', join(root, 'cache-h'), registry, { computeDtype: 'float16' });
    // The toy architecture supports float32 only, so a float16 request falls back.
    expect(bf16).toMatchObject({ computeDtype: 'float32', disableConstantFolding: true });
    const registry16 = new ArchitectureRegistry().register({ ...tinyProjector(), computeDtypes: ['float32', 'float16'] as const });
    const f16 = await loadModelGraph(writeProjector('proj-dtype16'), 'projector', join(root, 'cache-h'), registry16, { computeDtype: 'float16' });
    expect(f16.computeDtype).toBe('float16');
    expect(f16.path).toMatch(/-float16-[0-9a-f]{16}\.onnx$/);
    const f32 = await loadModelGraph(join(root, 'proj-dtype16.safetensors'), 'projector', join(root, 'cache-h'), registry16);
    expect(f32.path).not.toBe(f16.path);
    // The float16 graph's products read float16 casts of the stored weights (no float32 copy of a weight is left).
    const nodes = onnxProto.onnx.ModelProto.decode(readFileSync(f16.path)).graph!.node!;
    const gemm = nodes.find((n) => n.opType === 'Gemm')!;
    expect(gemm.input).toEqual(['proj.0.flatten.f16', 'proj.0.weight.f16', 'proj.0.bias.f16']);
    expect(nodes.some((n) => n.output![0] === 'proj.0.weight.cast')).toBe(false);
    expect(f16.disableConstantFolding).toBe(true);
    // The results agree to float16 precision (onnxruntime's CPU runs float16 products in float32).
    const hs = Tensor.float32([1, 2, 3, 4], randomWeight('hs-f16', [1, 2, 3, 4]));
    const a = (await pool.run(await pool.acquire(f16), { hidden_states: hs })).style_tokens!.data as Float32Array;
    const b = (await pool.run(await pool.acquire(f32), { hidden_states: hs })).style_tokens!.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    expect(worst).toBeLessThan(1e-2);
  });

  it('refuses a graph that breaks its role contract', async () => {
    const registry = new ArchitectureRegistry().register(tinyProjector(1, 'tokens'));
    const file = writeProjector('proj-contract');
    await expect(loadModelGraph(file, 'projector', join(root, 'cache-f'), registry)).rejects.toThrow(ContractError);
  });
});

describe('ArchitectureRegistry', () => {
  it('refuses duplicate ids and filters by role', () => {
    const registry = new ArchitectureRegistry().register(tinyProjector());
    expect(() => registry.register(tinyProjector())).toThrow(/'tiny-projector' is already registered/);
    expect(registry.forRole('projector').map((a) => a.id)).toEqual(['tiny-projector']);
    expect(registry.forRole('dit')).toEqual([]);
    expect(registry.get('tiny-projector')?.role).toBe('projector');
  });

  it('counts indexed blocks from key names', () => {
    const file = join(root, 'blocks.safetensors');
    const t = { dtype: 'F32' as const, shape: [1], data: new Float32Array(1) };
    writeSafetensors(file, { 'double_blocks.0.a': t, 'double_blocks.1.a': t, 'double_blocks.1.b': t, 'single_blocks.0.a': t, 'img_in.weight': t });
    const h = readSafetensorsHeader(file);
    expect(countIndexed(h, 'double_blocks.')).toBe(2);
    expect(countIndexed(h, 'single_blocks.')).toBe(1);
    expect(countIndexed(h, 'final_layer.')).toBe(0);
  });
});
