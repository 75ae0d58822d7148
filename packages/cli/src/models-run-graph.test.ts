import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_FILES, float32ArrayToFloat16, generateDemoModels, readSafetensorsHeader, readTensorFloat32, writeSafetensors } from '@uso-studio/runtime';
import { TINY_SIGLIP, writeTinyFiles } from '../../runtime/src/models/architectures/siglip-tiny.ts';
import { cli } from './models-commands.test-support.ts';
import { parseLora } from './models-run-graph.ts';

const dir = mkdtempSync(join(tmpdir(), 'uso-cli-run-graph-'));
const data = join(dir, 'data');
const tiny = writeTinyFiles(join(dir, 'tiny'));
const reference = readSafetensorsHeader(new URL('../../runtime/src/models/architectures/fixtures/siglip-tiny-reference.safetensors', import.meta.url).pathname);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

// Each command is a fresh tsx process (a few seconds on a loaded 2-core machine) and these tests start two or three.
const PROCESS_TESTS = { timeout: 120_000 };

describe('uso-studio models run-graph (process)', PROCESS_TESTS, () => {
  it('runs a toy SigLIP at its own image size, then the projector on its hidden states, matching PyTorch', () => {
    const visionOut = join(dir, 'vision-out.safetensors');
    const vision = cli(['models', 'run-graph', '--role', 'vision_encoder', '--inputs', tiny.inputs, '--out', visionOut, '--data', data, tiny.siglip.F16]);
    expect(vision.stderr).toBe('');
    expect(vision.code).toBe(0);
    expect(vision.stdout).toContain(`last_hidden_state [2, 25, 32]; hidden_states [2, 3, 25, 32]; penultimate_hidden_states [2, 25, 32]`);
    const out = readSafetensorsHeader(visionOut);
    expect(out.metadata).toMatchObject({ role: 'vision_encoder', architecture: 'siglip-vision' });
    for (const name of ['last_hidden_state', 'hidden_states', 'penultimate_hidden_states']) {
      expect(maxAbsDiff(readTensorFloat32(out, name), readTensorFloat32(reference, `F16.${name}`))).toBeLessThanOrEqual(1e-4);
    }

    const projectorIn = join(dir, 'projector-in.safetensors');
    writeSafetensors(projectorIn, { hidden_states: { dtype: 'F32', shape: [2, 3, 25, 32], data: readTensorFloat32(out, 'hidden_states') } });
    const projectorOut = join(dir, 'projector-out.safetensors');
    const projected = cli(['models', 'run-graph', '--role', 'projector', '--inputs', projectorIn, '--out', projectorOut, '--data', data, tiny.projector]);
    expect(projected.code).toBe(0);
    const tokens = readTensorFloat32(readSafetensorsHeader(projectorOut), 'style_tokens');
    expect(tokens.length).toBe(2 * 3 * TINY_SIGLIP.styleTokens * TINY_SIGLIP.hidden);
    expect(maxAbsDiff(tokens, readTensorFloat32(reference, 'F16.style_tokens'))).toBeLessThanOrEqual(1e-4);
  });

  it('refuses pixels of the wrong size and inputs that are not the contract, saying what it takes', () => {
    const wrongSize = join(dir, 'px384.safetensors');
    writeSafetensors(wrongSize, { pixel_values: { dtype: 'F32', shape: [1, 3, 384, 384], data: new Float32Array(3 * 384 * 384) } });
    const sized = cli(['models', 'run-graph', '--role', 'vision_encoder', '--inputs', wrongSize, '--out', join(dir, 'x.safetensors'), '--data', data, tiny.siglip.F32]);
    expect(sized.code).toBe(1);
    expect(sized.stderr).toMatch(/takes 20x20 pixels \(from its position embeddings\), got pixel_values \[1, 3, 384, 384\]/);

    const foreign = join(dir, 'foreign.safetensors');
    writeSafetensors(foreign, { images: { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
    const named = cli(['models', 'run-graph', '--role', 'vision_encoder', '--inputs', foreign, '--out', join(dir, 'y.safetensors'), '--data', data, tiny.siglip.F32]);
    expect(named.code).toBe(1);
    expect(named.stderr).toContain('missing: pixel_values');
    expect(named.stderr).toContain('not inputs of this role: images');

    const role = cli(['models', 'run-graph', '--role', 'unet', '--inputs', foreign, '--out', join(dir, 'z.safetensors'), '--data', data, tiny.siglip.F32]);
    expect(role.code).toBe(1);
    expect(role.stderr).toContain("--role must be one of dit, vae_encoder, vae_decoder, vision_encoder, projector, t5, clip, got 'unet'");
  });

  it('applies --lora FILE:STRENGTH to the DiT (strength 0 = no LoRA)', async () => {
    const models = join(dir, 'models');
    await generateDemoModels(models);
    const n = 4;
    const f32 = (shape: number[], fill: (i: number) => number) => ({ dtype: 'F32' as const, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => fill(i)) });
    const inputs = join(dir, 'dit-in.safetensors');
    writeSafetensors(inputs, {
      img: f32([1, n, 64], (i) => Math.sin(i)),
      img_ids: f32([1, n, 3], (i) => (i % 3 === 0 ? 0 : Math.floor(i / 6))),
      ref_img: f32([1, 0, 64], () => 0),
      ref_img_ids: f32([1, 0, 3], () => 0),
      txt: f32([1, 2, 16], (i) => Math.cos(i)),
      txt_ids: f32([1, 2, 3], () => 0),
      style: f32([1, 2, 16], (i) => 0.5 + 0.3 * Math.sin(3 * i)), // style tokens: the demo LoRA strengthens the colour transfer
      timesteps: f32([1], () => 0.5),
      guidance: f32([1], () => 3.5),
      y: f32([1, 16], (i) => i / 16),
    });
    const dit = join(models, DEMO_FILES.dit);
    const lora = join(models, DEMO_FILES.lora);
    const velocity = (extra: string[], name: string) => {
      const out = join(dir, `${name}.safetensors`);
      const result = cli(['models', 'run-graph', '--role', 'dit', '--inputs', inputs, '--out', out, '--data', data, ...extra, dit]);
      expect(result.code, result.stderr).toBe(0);
      return { stdout: result.stdout, v: readTensorFloat32(readSafetensorsHeader(out), 'velocity') };
    };
    const plain = velocity([], 'plain');
    const off = velocity(['--lora', `${lora}:0`], 'off');
    const on = velocity(['--lora', `${lora}:1`], 'on');
    expect(plain.v.length).toBe(n * 64);
    expect([...off.v]).toEqual([...plain.v]);
    expect(maxAbsDiff(on.v, plain.v)).toBeGreaterThan(1e-3);
    expect(on.stdout).toContain('lora uso-demo-dit-lora.safetensors: 1 weight(s) patched');
  });
});

describe('uso-studio models run-graph: the other roles and input dtypes (process)', PROCESS_TESTS, () => {
  it('runs the T5 role on I32 token ids and the VAE decoder on an F16 latent, as the nodes would', async () => {
    const models = join(dir, 'models-roles');
    await generateDemoModels(models);
    const idsFile = join(dir, 't5-in.safetensors');
    writeSafetensors(idsFile, { input_ids: { dtype: 'I32', shape: [1, 5], data: Int32Array.of(3, 17, 42, 1, 0) } });
    const t5Out = join(dir, 't5-out.safetensors');
    const t5 = cli(['models', 'run-graph', '--role', 't5', '--inputs', idsFile, '--out', t5Out, '--data', data, join(models, DEMO_FILES.t5)]);
    expect(t5.code, t5.stderr).toBe(0);
    const hidden = readSafetensorsHeader(t5Out);
    expect(hidden.tensors.get('last_hidden_state')!.shape).toEqual([1, 5, 16]);
    // The demo T5 is a lookup of shared.weight: rows 3 and 17 of the file, whatever the ids' stored integer width.
    const table = readTensorFloat32(readSafetensorsHeader(join(models, DEMO_FILES.t5)), 'shared.weight');
    const out = readTensorFloat32(hidden, 'last_hidden_state');
    expect([...out.subarray(16, 32)]).toEqual([...table.subarray(17 * 16, 18 * 16)]);

    const latentFile = join(dir, 'latent-in.safetensors');
    writeSafetensors(latentFile, { latent: { dtype: 'F16', shape: [1, 16, 2, 3], data: float32ArrayToFloat16(Float32Array.from({ length: 96 }, (_, i) => Math.sin(i) / 2)) } });
    const vaeOut = join(dir, 'vae-out.safetensors');
    const vae = cli(['models', 'run-graph', '--role', 'vae_decoder', '--inputs', latentFile, '--out', vaeOut, '--data', data, join(models, DEMO_FILES.vae)]);
    expect(vae.code, vae.stderr).toBe(0);
    expect(readSafetensorsHeader(vaeOut).tensors.get('image')!.shape).toEqual([1, 3, 16, 24]);
  });
});

describe('parseLora', () => {
  it('reads FILE:STRENGTH, defaulting the strength to 1', () => {
    expect(parseLora(`${tiny.projector}:0.75`)).toMatchObject({ file: tiny.projector, strength: 0.75, name: 'uso-projector-tiny.safetensors' });
    expect(parseLora(tiny.projector).strength).toBe(1);
    expect(() => parseLora(join(dir, 'nope.safetensors:1'))).toThrow(/nope\.safetensors/);
  });
});
