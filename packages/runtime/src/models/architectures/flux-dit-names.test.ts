import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SessionPool } from '../../session/session-pool.ts';
import { readSafetensorsHeader } from '../../safetensors/header.ts';
import { readTensorFloat32 } from '../../safetensors/read-data.ts';
import { writeSafetensors, type SafetensorsTensorInput } from '../../safetensors/writer.ts';
import { loadModelGraph } from '../loader.ts';
import { defaultArchitectures } from './index.ts';
import { FLUX_CASES, TINY_FLUX, fluxCaseInputs, tinyFluxFile } from './flux-dit-cases.ts';
import { diffusersFluxRename } from './flux-dit-names.ts';
import { runGraph, tempDir } from './test-support.ts';

const dir = tempDir('flux-dit-names');
const pool = new SessionPool({ log: () => {} });
afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Rows [start, end) of a row-major F32 tensor. */
function rows(t: SafetensorsTensorInput, start: number, end: number): SafetensorsTensorInput {
  const width = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return { dtype: 'F32', shape: [end - start, ...t.shape.slice(1)], data: (t.data as Float32Array).slice(start * width, end * width) };
}

/**
 * The tiny BFL checkpoint written as diffusers would store it (the inverse of flux-dit-names.ts, written from the
 * diffusers conversion's description): fused qkv and linear1 split, final modulation halves swapped.
 */
function asDiffusers(bfl: Record<string, SafetensorsTensorInput>): Record<string, SafetensorsTensorInput> {
  const h = TINY_FLUX.hidden;
  const out: Record<string, SafetensorsTensorInput> = {};
  const put = (name: string, t: SafetensorsTensorInput) => (out[name] = t);
  for (let n = 0; n < TINY_FLUX.doubleBlocks; n++) {
    for (const kind of ['weight', 'bias']) {
      for (const [stream, names] of [['img', ['to_q', 'to_k', 'to_v']], ['txt', ['add_q_proj', 'add_k_proj', 'add_v_proj']]] as const) {
        const fused = bfl[`double_blocks.${n}.${stream}_attn.qkv.${kind}`]!;
        names.forEach((part, i) => put(`transformer_blocks.${n}.attn.${part}.${kind}`, rows(fused, i * h, (i + 1) * h)));
      }
    }
  }
  for (let n = 0; n < TINY_FLUX.singleBlocks; n++) {
    for (const kind of ['weight', 'bias']) {
      const fused = bfl[`single_blocks.${n}.linear1.${kind}`]!;
      ['attn.to_q', 'attn.to_k', 'attn.to_v'].forEach((part, i) => put(`single_transformer_blocks.${n}.${part}.${kind}`, rows(fused, i * h, (i + 1) * h)));
      put(`single_transformer_blocks.${n}.proj_mlp.${kind}`, rows(fused, 3 * h, 3 * h + TINY_FLUX.mlpHidden));
    }
  }
  for (const kind of ['weight', 'bias']) {
    const mod = bfl[`final_layer.adaLN_modulation.1.${kind}`]!;
    const [shift, scale] = [rows(mod, 0, h), rows(mod, h, 2 * h)];
    put(`norm_out.linear.${kind}`, { dtype: 'F32', shape: mod.shape, data: Float32Array.from([...(scale.data as Float32Array), ...(shift.data as Float32Array)]) });
  }
  // Everything else is a rename: find each diffusers name by asking the forward map about candidate names.
  const candidates = [
    'x_embedder', 'context_embedder', 'proj_out', 'time_text_embed.timestep_embedder.linear_1', 'time_text_embed.timestep_embedder.linear_2',
    'time_text_embed.guidance_embedder.linear_1', 'time_text_embed.guidance_embedder.linear_2', 'time_text_embed.text_embedder.linear_1',
    'time_text_embed.text_embedder.linear_2',
    ...Array.from({ length: TINY_FLUX.doubleBlocks }, (_, n) =>
      ['norm1.linear', 'norm1_context.linear', 'attn.to_out.0', 'attn.to_add_out', 'ff.net.0.proj', 'ff.net.2', 'ff_context.net.0.proj', 'ff_context.net.2'].map((m) => `transformer_blocks.${n}.${m}`),
    ).flat(),
    ...Array.from({ length: TINY_FLUX.singleBlocks }, (_, n) => ['norm.linear', 'proj_out'].map((m) => `single_transformer_blocks.${n}.${m}`)).flat(),
  ].flatMap((m) => [`${m}.weight`, `${m}.bias`]);
  const norms = [
    ...Array.from({ length: TINY_FLUX.doubleBlocks }, (_, n) => ['norm_q', 'norm_k', 'norm_added_q', 'norm_added_k'].map((m) => `transformer_blocks.${n}.attn.${m}.weight`)).flat(),
    ...Array.from({ length: TINY_FLUX.singleBlocks }, (_, n) => ['norm_q', 'norm_k'].map((m) => `single_transformer_blocks.${n}.attn.${m}.weight`)).flat(),
  ];
  for (const name of [...candidates, ...norms]) {
    const canonical = diffusersFluxRename(name);
    expect(canonical, name).toBeDefined();
    put(name, bfl[canonical!]!);
  }
  expect(Object.keys(out).length).toBe(Object.keys(bfl).length + 2 * (2 * 2 * TINY_FLUX.doubleBlocks + 3 * TINY_FLUX.singleBlocks));
  return out;
}

describe('flux-dit: diffusers transformer folders', () => {
  it('a sharded diffusers folder gives the same velocity as the BFL file (reference fixture), composing qkv without a copy', async () => {
    const diffusers = asDiffusers(tinyFluxFile(TINY_FLUX, 'F32').tensors);
    const folder = join(dir, 'transformer');
    mkdirSync(folder);
    const names = Object.keys(diffusers);
    const half = Math.ceil(names.length / 2);
    const shards = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    shards.forEach((list, i) => {
      const file = `diffusion_pytorch_model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(join(folder, file), Object.fromEntries(list.map((n) => [n, diffusers[n]!])));
      for (const n of list) weightMap[n] = file;
    });
    writeFileSync(join(folder, 'diffusion_pytorch_model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));

    const graph = await loadModelGraph(folder, 'dit', join(dir, 'graphs'), defaultArchitectures());
    expect(graph).toMatchObject({ architecture: 'flux-dit', keyLayout: 'diffusers', config: { ...TINY_FLUX } });
    const fixture = readSafetensorsHeader(fileURLToPath(new URL('./fixtures/flux-dit-reference.safetensors', import.meta.url)));
    for (const k of FLUX_CASES.filter((c) => c.name === 'b1-s1-r1' || c.name === 'b2-s2-r0')) {
      const out = (await runGraph(pool, graph, fluxCaseInputs(TINY_FLUX, k))).velocity!.data as Float32Array;
      const want = readTensorFloat32(fixture, `F32/${k.name}/velocity`);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(out[i]! - want[i]!));
      expect(worst, k.name).toBeLessThan(2e-5);
    }
  });
});
