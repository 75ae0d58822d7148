/**
 * Test support: tiny architectures for every role (honouring runtime's contracts, with closed-form outputs so
 * tests can compute expected values in JavaScript), weight files in a temp models folder, a model service over
 * them, and a minimal ExecutionContext. Not used outside tests.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ArchitectureRegistry,
  GraphBuilder,
  linear,
  writeSafetensors,
  type Architecture,
  type SafetensorsTensorInput,
} from '@uso-studio/runtime';
import { Executor, NodeRegistry, validatePrompt, type ApiPrompt, type ExecutionContext, type HostEnvironment, type NodeDefinition, type PreviewImage } from '@uso-studio/core';
import { processLatentIn, type Tensor, type VelocityModel } from '@uso-studio/runtime';
import { createModelService, MODEL_SERVICE_KEY, type ModelService } from './models/model-service.ts';
import type { ConditioningEntry } from './flux/conditioning.ts';
import { comfyReferenceIds, packLatent, unpackLatent } from './flux/packing.ts';

/** Widths of the test models. */
export const TEST = { hidden: 8, ctx: 8, vec: 6, vocab: 64, visionWidth: 4, styleTokens: 3 } as const;

const f32 = (shape: number[], values: (i: number) => number): SafetensorsTensorInput => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: 'F32', shape, data: Float32Array.from({ length: n }, (_, i) => values(i)) };
};

/**
 * Test DiT: v = img @ P^T + 0.5 t + 0.01 g mean(txt) + 0.001 (sum(style) + sum(ref_img) + sum(y)) + 0.0001 sum(ref_img_ids),
 * with P = double_blocks.0.img_attn.proj.weight [64, 64] (LoRA target) and the sums per batch item.
 */
const testDit: Architecture<{ hidden: number }> = {
  id: 'test-dit',
  version: 1,
  role: 'dit',
  keyPrefixes: ['model.diffusion_model.', ''],
  detect: (h) => h.tensors.has('test_dit.marker'),
  inferConfig: () => ({ hidden: TEST.hidden }),
  requiredWeights: () => ['double_blocks.0.img_attn.proj.weight', 'test_dit.marker'],
  build: (_config, weights) => {
    const g = new GraphBuilder({ weights, name: 'test-dit' });
    const img = g.input('img', 'float32', ['B', 'N', 64]);
    g.input('img_ids', 'float32', ['B', 'N', 3]);
    const ref = g.input('ref_img', 'float32', ['B', 'R', 64]);
    const refIds = g.input('ref_img_ids', 'float32', ['B', 'R', 3]);
    const txt = g.input('txt', 'float32', ['B', 'L', TEST.ctx]);
    g.input('txt_ids', 'float32', ['B', 'L', 3]);
    const style = g.input('style', 'float32', ['B', 'S', TEST.hidden]);
    const t = g.input('timesteps', 'float32', ['B']);
    const guid = g.input('guidance', 'float32', ['B']);
    const y = g.input('y', 'float32', ['B', TEST.vec]);
    const lin = linear(g, img, 'double_blocks.0.img_attn.proj'); // [B, N, 64]; LoRAs run as branches beside it
    const col = (v: ReturnType<typeof g.input>) => g.reshape(v, [-1, 1, 1]); // [B] -> [B, 1, 1]
    const sum2 = (v: ReturnType<typeof g.input>) => g.reduceSum(v, [1, 2], true); // [B, 1, 1]
    let extra = g.mul(col(t), g.scalar(0.5));
    extra = g.add(extra, g.mul(g.mul(col(guid), g.scalar(0.01)), g.reduceMean(txt, [1, 2], true)));
    extra = g.add(extra, g.mul(g.add(g.add(sum2(style), sum2(ref)), g.reshape(g.reduceSum(y, [1], true), [-1, 1, 1])), g.scalar(0.001)));
    extra = g.add(extra, g.mul(sum2(refIds), g.scalar(0.0001)));
    g.output(g.add(lin, extra), 'velocity', 'float32', ['B', 'N', 64]);
    return g.build();
  },
};

/** Test VAE: encoder Conv 3->16 kernel 8 stride 8; decoder ConvTranspose 16->3 kernel 8 stride 8. */
function testVae(role: 'vae_encoder' | 'vae_decoder'): Architecture<null> {
  return {
    id: `test-${role}`,
    version: 1,
    role,
    keyPrefixes: ['vae.', ''],
    detect: (h) => h.tensors.has('encoder.conv.weight') && h.tensors.has('decoder.conv.weight'),
    inferConfig: () => null,
    requiredWeights: () => (role === 'vae_encoder' ? ['encoder.conv.weight'] : ['decoder.conv.weight']),
    build: (_c, weights) => {
      const g = new GraphBuilder({ weights });
      if (role === 'vae_encoder') {
        const x = g.input('image', 'float32', ['B', 3, 'H', 'W']);
        g.output(g.conv(x, g.weight('encoder.conv.weight'), undefined, { strides: [8, 8] }), 'latent', 'float32', ['B', 16, 'h', 'w']);
      } else {
        const z = g.input('latent', 'float32', ['B', 16, 'h', 'w']);
        g.output(g.convTranspose(z, g.weight('decoder.conv.weight'), undefined, { strides: [8, 8] }), 'image', 'float32', ['B', 3, 'H', 'W']);
      }
      return g.build();
    },
  };
}

/** Test text encoders: T5 = embedding lookup [V, ctx]; CLIP = mean of embeddings [V, vec] over the 77 tokens. */
function testText(role: 't5' | 'clip'): Architecture<null> {
  const key = role === 't5' ? 'shared.weight' : 'token_embedding.weight';
  return {
    id: `test-${role}`,
    version: 1,
    role,
    keyPrefixes: role === 't5' ? ['text_encoders.t5xxl.transformer.', ''] : ['text_encoders.clip_l.transformer.', ''],
    detect: (h) => h.tensors.has(key),
    inferConfig: () => null,
    requiredWeights: () => [key],
    build: (_c, weights) => {
      const g = new GraphBuilder({ weights });
      const ids = g.input('input_ids', 'int64', role === 't5' ? ['B', 'L'] : ['B', 77]);
      const emb = g.gather(g.weight(key), ids); // [B, L, d]
      if (role === 't5') g.output(emb, 'last_hidden_state', 'float32', ['B', 'L', TEST.ctx]);
      else g.output(g.reduceMean(emb, [1], false), 'pooled', 'float32', ['B', TEST.vec]);
      return g.build();
    },
  };
}

/** Test vision encoder: Conv 3->4 kernel 14 stride 14 -> tokens [B, 729, 4]; hidden states = tokens x 1, 2, 3 (penultimate x 3). */
const testVision: Architecture<null> = {
  id: 'test-vision',
  version: 1,
  role: 'vision_encoder',
  detect: (h) => h.tensors.has('vision.patch.weight'),
  inferConfig: () => null,
  requiredWeights: () => ['vision.patch.weight'],
  build: (_c, weights) => {
    const g = new GraphBuilder({ weights });
    const x = g.input('pixel_values', 'float32', ['B', 3, 384, 384]);
    const conv = g.conv(x, g.weight('vision.patch.weight'), undefined, { strides: [14, 14] }); // [B, 4, 27, 27]
    const tokens = g.transpose(g.reshape(conv, [0, TEST.visionWidth, 729]), [0, 2, 1]); // [B, 729, 4]
    const layers = [1, 2, 3].map((k) => g.unsqueeze(g.mul(tokens, g.scalar(k)), [1])); // [B, 1, 729, 4] each
    g.output(tokens, 'last_hidden_state', 'float32', ['B', 729, TEST.visionWidth]);
    g.output(g.concat(layers, 1), 'hidden_states', 'float32', ['B', 3, 729, TEST.visionWidth]);
    g.output(g.mul(tokens, g.scalar(3)), 'penultimate_hidden_states', 'float32', ['B', 729, TEST.visionWidth]);
    return g.build();
  },
};

/** Test projector: mean over tokens [B, 3, 4], then x @ W^T with W = feature_embedder.proj.weight [8, 4] -> [B, 3, 8]. */
const testProjector: Architecture<null> = {
  id: 'test-projector',
  version: 1,
  role: 'projector',
  keyPrefixes: ['feature_embedder.', ''],
  detect: (h) => h.tensors.has('proj.weight'),
  inferConfig: () => null,
  requiredWeights: () => ['proj.weight'],
  build: (_c, weights) => {
    const g = new GraphBuilder({ weights });
    const hs = g.input('hidden_states', 'float32', ['B', 3, 729, TEST.visionWidth]);
    const mean = g.reduceMean(hs, [2], false); // [B, 3, 4]
    g.output(g.matMul(mean, g.transpose(g.weight('proj.weight'), [1, 0])), 'style_tokens', 'float32', ['B', 3, TEST.hidden]);
    return g.build();
  },
};

/** A registry with every test architecture. */
export function testRegistry(): ArchitectureRegistry {
  return new ArchitectureRegistry()
    .register(testDit)
    .register(testVae('vae_encoder'))
    .register(testVae('vae_decoder'))
    .register(testText('t5'))
    .register(testText('clip'))
    .register(testVision)
    .register(testProjector);
}

/** The DiT's projection weight in the test files: 0.3 I plus a small deterministic pattern. */
export function testProjection(): Float32Array {
  return Float32Array.from({ length: 64 * 64 }, (_, i) => (Math.floor(i / 64) === i % 64 ? 0.3 : 0) + 0.001 * (((i * 7) % 13) - 6));
}

const sumOf = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

/**
 * The test DiT's velocity computed in JavaScript (see testDit) for one conditioning entry: x [B, 16, h, w] in model
 * space, so samplers can be checked against runtime's ksample driven by this instead of the ONNX graph.
 */
export function referenceVelocity(shape: readonly number[], e: ConditioningEntry, styles: readonly Tensor<'float32'>[] = []): VelocityModel {
  const [b, c, h, w] = shape as [number, number, number, number];
  const P = testProjection();
  const g = e.guidance ?? 3.5;
  const txtMean = sumOf(e.cond.data) / e.cond.size;
  const refs = e.reference_latents ?? [];
  const refSum = refs.reduce((s, r) => s + sumOf(processLatentIn(r.data)), 0);
  const ids = comfyReferenceIds({ h, w }, refs.map((r) => ({ h: r.shape[2]!, w: r.shape[3]! })), e.reference_latents_method ?? 'offset');
  const idSum = ids.reduce((s, a) => s + sumOf(a), 0);
  const styleSum = styles.reduce((s, t) => s + sumOf(t.data), 0);
  return async (x: Float32Array, sigma: number) => {
    const tokens = packLatent(x, b, c, h, w);
    const n = tokens.length / 64;
    const out = new Float32Array(tokens.length);
    const extra = 0.5 * sigma + 0.01 * g * txtMean + 0.001 * (styleSum + refSum + sumOf(e.pooled_output!.data)) + 0.0001 * idSum;
    for (let t = 0; t < n; t++) {
      for (let f = 0; f < 64; f++) {
        let v = extra;
        for (let k = 0; k < 64; k++) v += tokens[t * 64 + k]! * P[f * 64 + k]!;
        out[t * 64 + f] = v;
      }
    }
    return unpackLatent(out, b, c, h, w);
  };
}

/** Weights of each test model, keyed as in a standalone file. */
export function testWeights(): Record<'dit' | 'vae' | 't5' | 'clip' | 'vision' | 'projector', Record<string, SafetensorsTensorInput>> {
  const proj = testProjection();
  return {
    dit: {
      'double_blocks.0.img_attn.proj.weight': { dtype: 'F32', shape: [64, 64], data: proj },
      'test_dit.marker': f32([1], () => 1),
    },
    vae: {
      // Encoder: channel k = mean of colour (k % 3) over the 8x8 block; decoder: its transpose scaled back.
      'encoder.conv.weight': f32([16, 3, 8, 8], (i) => (Math.floor(i / 192) % 3 === Math.floor(i / 64) % 3 ? 1 / 64 : 0)),
      'decoder.conv.weight': f32([16, 3, 8, 8], (i) => (Math.floor(i / 192) % 3 === Math.floor(i / 64) % 3 && Math.floor(i / 192) < 3 ? 1 : 0)),
    },
    t5: { 'shared.weight': f32([TEST.vocab, TEST.ctx], (i) => Math.sin(i * 0.37)) },
    clip: { 'token_embedding.weight': f32([TEST.vocab, TEST.vec], (i) => Math.cos(i * 0.21)) },
    vision: { 'vision.patch.weight': f32([TEST.visionWidth, 3, 14, 14], (i) => (Math.floor(i / 196) % 3 === Math.floor(i / 588) % 3 ? 1 / 196 : 0)) },
    projector: { 'feature_embedder.proj.weight': f32([TEST.hidden, TEST.visionWidth], (i) => ((i % 5) - 2) * 0.25) },
  };
}

/** A WordLevel tokenizer.json over `words` (ids from 3), with T5/CLIP specials. */
export function testTokenizerJson(words: readonly string[], kind: 't5' | 'clip'): object {
  const vocab: Record<string, number> = {};
  if (kind === 't5') Object.assign(vocab, { '<pad>': 0, '</s>': 1, '<unk>': 2 });
  else Object.assign(vocab, { '<unk>': 2, '<|startoftext|>': 61, '<|endoftext|>': 62 });
  words.forEach((w, i) => (vocab[w] = i + 3));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: '<unk>' },
  };
}

export const TEST_WORDS = ['a', 'red', 'cat', 'blue', 'dog', 'on', 'the', 'grass'] as const;

/** A temp data folder with test model files in ComfyUI's layout, a model service and a host environment. */
export interface TestHost {
  root: string;
  env: HostEnvironment;
  service: ModelService;
  cleanup(): Promise<void>;
}

export function makeTestHost(): TestHost {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'uso-comfy-'));
  const models = path.join(root, 'models');
  const dir = (...p: string[]) => {
    const d = path.join(models, ...p);
    fs.mkdirSync(d, { recursive: true });
    return d;
  };
  const w = testWeights();
  const prefixed = (prefix: string, t: Record<string, SafetensorsTensorInput>) =>
    Object.fromEntries(Object.entries(t).map(([k, v]) => [prefix + k, v]));
  writeSafetensors(path.join(dir('diffusion_models'), 'test-dit.safetensors'), w.dit);
  writeSafetensors(path.join(dir('checkpoints'), 'test-checkpoint.safetensors'), {
    ...prefixed('model.diffusion_model.', w.dit),
    ...prefixed('vae.', w.vae),
    ...prefixed('text_encoders.t5xxl.transformer.', w.t5),
    ...prefixed('text_encoders.clip_l.transformer.', w.clip),
  }, {
    // As the demo checkpoint does: its embedded encoders name their tokenizers (else the shipped ones are used).
    'uso_studio.tokenizer.t5xxl': 'text_encoders/test-t5xxl.tokenizer.json',
    'uso_studio.tokenizer.clip_l': 'text_encoders/test-clip_l.tokenizer.json',
  });
  writeSafetensors(path.join(dir('vae'), 'test-ae.safetensors'), w.vae);
  writeSafetensors(path.join(dir('text_encoders'), 'test-t5xxl.safetensors'), w.t5);
  writeSafetensors(path.join(dir('text_encoders'), 'test-clip_l.safetensors'), w.clip);
  fs.writeFileSync(path.join(models, 'text_encoders', 'test-t5xxl.tokenizer.json'), JSON.stringify(testTokenizerJson(TEST_WORDS, 't5')));
  fs.writeFileSync(path.join(models, 'text_encoders', 'test-clip_l.tokenizer.json'), JSON.stringify(testTokenizerJson(TEST_WORDS, 'clip')));
  writeSafetensors(path.join(dir('clip_vision'), 'test-vision.safetensors'), w.vision);
  writeSafetensors(path.join(dir('model_patches'), 'test-projector.safetensors'), w.projector);
  dir('loras');
  const service = createModelService({ modelsDir: models, cacheDir: path.join(root, 'cache', 'graphs'), registry: testRegistry(), threads: 1, log: () => {} });
  const env: HostEnvironment = {
    inputDir: dir('..', 'input'),
    outputDir: dir('..', 'output'),
    tempDir: dir('..', 'temp'),
    modelsDir: models,
    services: { [MODEL_SERVICE_KEY]: service },
  };
  return {
    root,
    env,
    service,
    cleanup: async () => {
      await service.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A context recording progress, previews and log lines. */
export function recordingContext(env: HostEnvironment): ExecutionContext & { progressCalls: Array<[number, number]>; previews: PreviewImage[]; lines: string[] } {
  const lines: string[] = [];
  const progressCalls: Array<[number, number]> = [];
  const previews: PreviewImage[] = [];
  const log = (level: string) => (m: string) => void lines.push(`${level}: ${m}`);
  return {
    nodeId: '1',
    displayNodeId: '1',
    promptId: 'test',
    prompt: {},
    extraData: {},
    env,
    signal: new AbortController().signal,
    log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    progress: (v, m) => void progressCalls.push([v, m]),
    preview: (p) => void previews.push(p),
    previewWanted: () => true,
    progressCalls,
    previews,
    lines,
  };
}

/** What a {@link capturingEngine} run gives back: the values that reached each TestCapture node, and what ran. */
export interface CapturedRun {
  values: Map<string, unknown>;
  executed: readonly string[];
  cached: readonly string[];
}

/**
 * The real engine over `nodes` plus a `TestCapture` output node whose `value` input takes anything: `run(prompt)`
 * validates the API prompt (validatePrompt), executes it with one Executor kept across runs (so its cache works as
 * the server's), and returns what reached each TestCapture node, keyed by its id. Failures throw with the payload.
 */
export function capturingEngine(env: HostEnvironment, nodes: readonly NodeDefinition[]): { run(prompt: ApiPrompt): Promise<CapturedRun> } {
  let values = new Map<string, unknown>();
  const capture: NodeDefinition = {
    name: 'TestCapture',
    category: 'testing',
    outputNode: true,
    // Runs on every prompt, so it reports values that came from the cache too.
    notIdempotent: true,
    inputs: { required: { value: { type: '*' } } },
    outputs: [],
    execute(inputs, context) {
      values.set(context.nodeId, inputs.value);
      return { ui: {} };
    },
  };
  const registry = new NodeRegistry([...nodes, capture]);
  const executor = new Executor({ registry, env });
  return {
    async run(prompt) {
      values = new Map();
      const validation = await validatePrompt(prompt, registry, env);
      if (!validation.ok || Object.keys(validation.nodeErrors).length > 0) throw new Error(`invalid prompt: ${JSON.stringify(validation)}`);
      const outcome = await executor.run(validation.prompt, { promptId: 'test' });
      if (outcome.status !== 'success') throw new Error(`run failed: ${JSON.stringify(outcome.error)}`);
      return { values, executed: outcome.executed, cached: outcome.cached };
    },
  };
}
