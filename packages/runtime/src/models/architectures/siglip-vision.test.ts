import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensorsHeader } from '../../safetensors/header.ts';
import { readTensorFloat32 } from '../../safetensors/read-data.ts';
import { writeSparseSafetensors } from '../../safetensors/sparse.ts';
import { SessionPool } from '../../session/session-pool.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { CONTRACTS, checkContract } from '../contract.ts';
import { UnknownArchitectureError, detectArchitecture, loadModelGraph } from '../loader.ts';
import { defaultArchitectures } from './index.ts';
import { SIGLIP_HEADS_METADATA_KEY, siglipSelectedLayers, siglipVision, type SiglipVisionConfig } from './siglip-vision.ts';
import { clipVitLVisionLayout, comfyuiSigclipLayout, huggingFaceSiglipLayout, SO400M } from './siglip-published.ts';
import { TINY_DTYPES, TINY_SIGLIP, tinyCheckpoint, tinyPixels, tinySiglipSpecs, writeTinyFiles } from './siglip-tiny.ts';
import { writeSafetensors } from '../../safetensors/writer.ts';
import { float32ArrayToFloat8E4M3 } from '../../tensor/float8.ts';
import { tempDir } from './test-support.ts';

const dir = tempDir('siglip-vision');
const files = writeTinyFiles(join(dir, 'files'));
const cache = join(dir, 'graphs');
const registry = defaultArchitectures();
const pool = new SessionPool();
const reference = readSafetensorsHeader(new URL('./fixtures/siglip-tiny-reference.safetensors', import.meta.url).pathname);

afterAll(async () => {
  await pool.releaseAll();
  rmSync(dir, { recursive: true, force: true });
});

function maxAbsDiff(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let max = 0;
  for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!));
  return max;
}

async function run(file: string, role: 'vision_encoder' | 'projector', feeds: Record<string, Tensor>) {
  const graph = await loadModelGraph(file, role, cache, registry);
  const session = await pool.acquire(graph, { disablePrepacking: true });
  return { graph, out: await pool.run(session, feeds) };
}

describe('SigLIP vision tower against the PyTorch reference (toy config, every stored dtype)', () => {
  const { batch, imageSize, tokens, width } = TINY_SIGLIP;
  const pixels = Tensor.float32([batch, 3, imageSize, imageSize], tinyPixels());

  for (const dtype of TINY_DTYPES) {
    it(`${dtype}: last_hidden_state, the USO layers, penultimate and the projector's style tokens within 1e-4`, async () => {
      const { graph, out } = await run(files.siglip[dtype], 'vision_encoder', { pixel_values: pixels });
      expect(graph.architecture).toBe('siglip-vision');
      expect(graph.config).toEqual({
        imageSize: 20, patch: 4, channels: 3, width: 32, heads: 4, intermediate: 48, layers: 21, tokens: 25, eps: 1e-6,
        selectedLayers: [1, 10, 19],
      } satisfies SiglipVisionConfig);
      expect(out.last_hidden_state!.shape).toEqual([batch, tokens, width]);
      expect(out.hidden_states!.shape).toEqual([batch, 3, tokens, width]);
      expect(out.penultimate_hidden_states!.shape).toEqual([batch, tokens, width]);
      for (const name of ['last_hidden_state', 'hidden_states', 'penultimate_hidden_states']) {
        const expected = readTensorFloat32(reference, `${dtype}.${name}`);
        expect(maxAbsDiff(out[name]!.data as Float32Array, expected), `${dtype} ${name}`).toBeLessThanOrEqual(1e-4);
      }
      // End to end: our hidden states through the real USO projector graph.
      const projected = await run(files.projector, 'projector', { hidden_states: out.hidden_states! });
      expect(projected.out.style_tokens!.shape).toEqual([batch, 3 * TINY_SIGLIP.styleTokens, TINY_SIGLIP.hidden]);
      const expected = readTensorFloat32(reference, `${dtype}.style_tokens`);
      expect(maxAbsDiff(projected.out.style_tokens!.data as Float32Array, expected)).toBeLessThanOrEqual(1e-4);
    });
  }

  it("scaled F8_E4M3 (ComfyUI's *_scaled files): each Linear's scale_weight is applied and ignored as a tensor", async () => {
    // Store every Linear weight doubled (exact in e4m3) with scale_weight 0.5: the graph must give the F8 reference.
    const { tensors, values } = tinyCheckpoint(tinySiglipSpecs(), 'F8_E4M3');
    const scaled: typeof tensors = { ...tensors, scaled_fp8: { dtype: 'F8_E4M3', shape: [0], data: new Uint8Array(0) } };
    let linears = 0;
    for (const name of Object.keys(values)) {
      if (!/\.(q_proj|k_proj|v_proj|out_proj|fc1|fc2)\.weight$/.test(name)) continue;
      scaled[name] = { dtype: 'F8_E4M3', shape: tensors[name]!.shape, data: float32ArrayToFloat8E4M3(values[name]!.map((v) => 2 * v)) };
      scaled[name.replace(/\.weight$/, '.scale_weight')] = { dtype: 'F32', shape: [], data: Float32Array.of(0.5) };
      linears++;
    }
    expect(linears).toBe(6 * TINY_SIGLIP.layers);
    const file = join(dir, 'siglip-tiny-scaled.safetensors');
    writeSafetensors(file, scaled, { [SIGLIP_HEADS_METADATA_KEY]: '4' });
    const header = readSafetensorsHeader(file);
    const config = siglipVision.inferConfig(header);
    const used = new Set(siglipVision.requiredWeights(config));
    const ignored = siglipVision.ignoredWeights!(config, header.tensors.keys());
    expect([...header.tensors.keys()].filter((n) => !used.has(n) && !ignored.includes(n))).toEqual([]);
    expect(ignored).toHaveLength(linears + 1);
    const { out } = await run(file, 'vision_encoder', { pixel_values: pixels });
    const expected = readTensorFloat32(reference, 'F8_E4M3.last_hidden_state');
    expect(maxAbsDiff(out.last_hidden_state!.data as Float32Array, expected)).toBeLessThanOrEqual(1e-4);
  });

  it('the stored dtypes really differ (the test would notice a graph that ignored them)', () => {
    const f32 = readTensorFloat32(reference, 'F32.last_hidden_state');
    const f8 = readTensorFloat32(reference, 'F8_E4M3.last_hidden_state');
    expect(maxAbsDiff(f8, f32)).toBeGreaterThan(1e-2);
  });
});

describe('SigLIP detection and weights', () => {
  it('uses every vision weight and deliberately ignores the head, text tower and logit scale/bias', () => {
    const header = readSafetensorsHeader(files.siglip.F32);
    const config = siglipVision.inferConfig(header);
    const used = new Set(siglipVision.requiredWeights(config));
    const ignored = new Set(siglipVision.ignoredWeights!(config, header.tensors.keys()));
    for (const name of header.tensors.keys()) expect(used.has(name) !== ignored.has(name), name).toBe(true);
    expect(ignored).toContain('vision_model.head.probe');
    expect(ignored).toContain('text_model.embeddings.token_embedding.weight');
    expect(ignored).toContain('logit_scale');
  });

  it('selects the layers ComfyUI reads (all_hidden_states -20, -11, -2), clamped for toy depths', () => {
    expect(siglipSelectedLayers(27)).toEqual([7, 16, 25]);
    expect(siglipSelectedLayers(3)).toEqual([0, 0, 1]);
  });
});

describe('SigLIP so400m at full size (sparse files with the published layouts)', () => {
  const layouts = [
    { name: 'sigclip_vision_patch14_384.safetensors', specs: comfyuiSigclipLayout(), tensors: 27 * 16 + 5 + 11 },
    { name: 'model.safetensors', specs: huggingFaceSiglipLayout(), tensors: 2 * (27 * 16) + 5 + 11 + 8 },
  ];
  for (const layout of layouts) {
    it(`${layout.name}: detected, published config, no unknown tensor, graph and session built`, async () => {
      const sub = tempDir('siglip-full');
      try {
        const file = join(sub, layout.name);
        writeSparseSafetensors(file, layout.specs);
        const header = readSafetensorsHeader(file);
        expect(header.tensors.size).toBe(layout.tensors);
        const { architecture } = detectArchitecture(header, 'vision_encoder', registry);
        expect(architecture.id).toBe('siglip-vision');
        const config = siglipVision.inferConfig(header);
        expect(config).toMatchObject({ ...SO400M, selectedLayers: [7, 16, 25], eps: 1e-6 });
        const used = new Set(siglipVision.requiredWeights(config));
        const ignored = new Set(siglipVision.ignoredWeights!(config, header.tensors.keys()));
        const unknown = [...header.tensors.keys()].filter((n) => !used.has(n) && !ignored.has(n));
        expect(unknown).toEqual([]);
        expect(used.size).toBe(27 * 16 + 5);
        const graph = await loadModelGraph(file, 'vision_encoder', join(sub, 'graphs'), registry);
        checkContract(readFileSync(graph.path), CONTRACTS.vision_encoder, layout.name);
        const session = await pool.acquire(graph, { disablePrepacking: true });
        expect(session.inputNames).toEqual(['pixel_values']);
        await pool.release(session);
      } finally {
        rmSync(sub, { recursive: true, force: true });
      }
    });
  }

  it('refuses a CLIP ViT-L vision tower, saying what it looks like and what was expected', () => {
    const sub = tempDir('siglip-clip');
    try {
      const file = join(sub, 'clip_vision_vit_l.safetensors');
      writeSparseSafetensors(file, clipVitLVisionLayout());
      const header = readSafetensorsHeader(file);
      expect(() => detectArchitecture(header, 'vision_encoder', registry)).toThrow(UnknownArchitectureError);
      expect(() => detectArchitecture(header, 'vision_encoder', registry)).toThrow(
        /clip_vision_vit_l\.safetensors.*looks like a CLIP ViT-L\/14 vision tower .*24 layers.*expected a SigLIP vision tower/,
      );
    } finally {
      rmSync(sub, { recursive: true, force: true });
    }
  });
});
