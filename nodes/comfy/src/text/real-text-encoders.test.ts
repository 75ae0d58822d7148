/**
 * A real-architecture T5 and CLIP-L pair (toy widths, the published vocabularies and key names, F16) dropped into
 * text_encoders/ as `t5xxl_fp16.safetensors` and `clip_l.safetensors` with no tokenizer beside them: DualCLIPLoader
 * picks the shipped tokenizers, and CLIPTextEncode runs the real graphs on their ids.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HostEnvironment } from '@uso-studio/core';
import {
  defaultArchitectures, loadModelGraph, randomCheckpoint, SessionPool, Tensor, writeSafetensors, type RandomWeightSpec,
} from '@uso-studio/runtime';
import { createModelService, MODEL_SERVICE_KEY } from '../models/model-service.ts';
import type { ClipDescriptor } from '../models/descriptors.ts';
import type { ConditioningEntry } from '../flux/conditioning.ts';
import { dualClipLoader } from '../nodes/loaders.ts';
import { clipTextEncode } from '../nodes/conditioning.ts';
import { recordingContext } from '../test-support.ts';
import { loadTokenizer, SHIPPED_TOKENIZERS, tokenizeClipFirstChunk, tokenizeT5 } from './tokenizers.ts';

const T5 = { vocab: 32128, width: 16, heads: 2, headDim: 8, ff: 32 };
const CLIP = { vocab: 49408, width: 64, mlp: 128, positions: 77 };

function t5Specs(): Record<string, RandomWeightSpec> {
  const inner = T5.heads * T5.headDim;
  const a = 'encoder.block.0.layer.0';
  const f = 'encoder.block.0.layer.1';
  return {
    'shared.weight': { shape: [T5.vocab, T5.width] },
    [`${a}.SelfAttention.relative_attention_bias.weight`]: { shape: [32, T5.heads], std: 0.5 },
    [`${a}.layer_norm.weight`]: { shape: [T5.width], mean: 1, std: 0.1 },
    ...Object.fromEntries(['q', 'k', 'v'].map((p) => [`${a}.SelfAttention.${p}.weight`, { shape: [inner, T5.width], std: 0.2 }])),
    [`${a}.SelfAttention.o.weight`]: { shape: [T5.width, inner], std: 0.2 },
    [`${f}.layer_norm.weight`]: { shape: [T5.width], mean: 1, std: 0.1 },
    [`${f}.DenseReluDense.wi_0.weight`]: { shape: [T5.ff, T5.width], std: 0.2 },
    [`${f}.DenseReluDense.wi_1.weight`]: { shape: [T5.ff, T5.width], std: 0.2 },
    [`${f}.DenseReluDense.wo.weight`]: { shape: [T5.width, T5.ff], std: 0.2 },
    'encoder.final_layer_norm.weight': { shape: [T5.width], mean: 1, std: 0.1 },
  };
}

function clipSpecs(): Record<string, RandomWeightSpec> {
  const p = 'text_model.encoder.layers.0';
  const specs: Record<string, RandomWeightSpec> = {
    'text_model.embeddings.token_embedding.weight': { shape: [CLIP.vocab, CLIP.width], std: 0.5 },
    'text_model.embeddings.position_embedding.weight': { shape: [CLIP.positions, CLIP.width], std: 0.2 },
    'text_model.final_layer_norm.weight': { shape: [CLIP.width], mean: 1, std: 0.1 },
    'text_model.final_layer_norm.bias': { shape: [CLIP.width], std: 0.1 },
    [`${p}.mlp.fc1.weight`]: { shape: [CLIP.mlp, CLIP.width], std: 0.1 },
    [`${p}.mlp.fc1.bias`]: { shape: [CLIP.mlp], std: 0.05 },
    [`${p}.mlp.fc2.weight`]: { shape: [CLIP.width, CLIP.mlp], std: 0.1 },
    [`${p}.mlp.fc2.bias`]: { shape: [CLIP.width], std: 0.05 },
  };
  for (const n of ['layer_norm1', 'layer_norm2']) {
    specs[`${p}.${n}.weight`] = { shape: [CLIP.width], mean: 1, std: 0.1 };
    specs[`${p}.${n}.bias`] = { shape: [CLIP.width], std: 0.1 };
  }
  for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
    specs[`${p}.self_attn.${n}.weight`] = { shape: [CLIP.width, CLIP.width], std: 0.1 };
    specs[`${p}.self_attn.${n}.bias`] = { shape: [CLIP.width], std: 0.05 };
  }
  return specs;
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'uso-real-text-'));
const models = path.join(root, 'models');
const textEncoders = path.join(models, 'text_encoders');
fs.mkdirSync(textEncoders, { recursive: true });
writeSafetensors(path.join(textEncoders, 't5xxl_fp16.safetensors'), randomCheckpoint(t5Specs(), 'F16').tensors);
writeSafetensors(path.join(textEncoders, 'clip_l.safetensors'), randomCheckpoint(clipSpecs(), 'F16').tensors);
const service = createModelService({ modelsDir: models, cacheDir: path.join(root, 'cache'), registry: defaultArchitectures(), threads: 1, log: () => {} });
const env: HostEnvironment = { inputDir: root, outputDir: root, tempDir: root, modelsDir: models, services: { [MODEL_SERVICE_KEY]: service } };
const pool = new SessionPool();
afterAll(async () => {
  await pool.releaseAll();
  await service.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/** Runs a role's graph on one row of ids, outside the node path. */
async function direct(file: string, role: 't5' | 'clip', ids: number[], output: string): Promise<Float32Array> {
  const graph = await loadModelGraph(path.join(textEncoders, file), role, path.join(root, 'direct'), defaultArchitectures());
  const session = await pool.acquire(graph, { disablePrepacking: true });
  const out = await pool.run(session, { input_ids: new Tensor('int64', [1, ids.length], BigInt64Array.from(ids, BigInt)) });
  return out[output]!.data as Float32Array;
}

describe('real T5 + CLIP-L files without tokenizers, through DualCLIPLoader and CLIPTextEncode', () => {
  it('uses the shipped tokenizers and the real graphs', async () => {
    const ctx = recordingContext(env);
    const [clip] = (await dualClipLoader.execute({ clip_name1: 'clip_l.safetensors', clip_name2: 't5xxl_fp16.safetensors', type: 'flux' }, ctx)).outputs! as [ClipDescriptor];
    expect(clip.t5!.tokenizer).toBe(SHIPPED_TOKENIZERS.t5xxl);
    expect(clip.clip!.tokenizer).toBe(SHIPPED_TOKENIZERS.clip_l);
    const prompt = 'A photo of a cat, café ☕';
    const [[entry]] = (await clipTextEncode.execute({ text: prompt, clip }, ctx)).outputs! as [[ConditioningEntry]];
    expect(entry.cond.shape).toEqual([1, 256, T5.width]);
    expect(entry.pooled_output!.shape).toEqual([1, CLIP.width]);
    const t5Ids = tokenizeT5(loadTokenizer(SHIPPED_TOKENIZERS.t5xxl), prompt).map((t) => t.id);
    expect(Math.max(...t5Ids)).toBeGreaterThan(1000); // real vocabulary ids, not a demo word list
    expect(Array.from(entry.cond.data)).toEqual(Array.from(await direct('t5xxl_fp16.safetensors', 't5', t5Ids, 'last_hidden_state')));
    const clipIds = tokenizeClipFirstChunk(loadTokenizer(SHIPPED_TOKENIZERS.clip_l), prompt);
    expect(clipIds.slice(0, 4)).toEqual([49406, 320, 1125, 539]);
    expect(Array.from(entry.pooled_output!.data)).toEqual(Array.from(await direct('clip_l.safetensors', 'clip', clipIds, 'pooled')));
  });
});
