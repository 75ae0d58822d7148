/**
 * The demo vision encoder (`uso-demo-siglip-vision`): SigLIP's interface (384x384 in, 27x27 = 729 patch tokens of
 * patch 14, 27 layers) with hand-set statistics instead of learned features, so the USO projector downstream receives
 * each style image's colour statistics.
 *
 * pixel_values [B, 3, 384, 384] (already (x - 0.5)/0.5) -> Concat(x, x*x) [B, 6, 384, 384] -> patch Conv 6->6,
 * kernel = stride = 14, averaging (`vision_model.embeddings.patch_embedding`) [B, 6, 27, 27] -> tokens [B, 729, 6]
 * -> Linear 6->width (`vision_model.embeddings.feature_proj`) -> layers i = 0..n-1: x * `encoder.layers.i.layer_scale`
 * (ones in the demo file; each layer's output is a hidden state). The demo weights make every token
 * [E r, E g, E b, E r², E g², E b², -(same six), K, -K, 0, 0] over its patch.
 *
 * Selected layers, in the contract's order, are those USOStyleReference reads: all[-20] (low), all[-11] (mid) and
 * the penultimate all[-2] (high, also `penultimate_hidden_states`); last_hidden_state is the final layer's output (no
 * post-layernorm in the demo).
 */

import { GraphBuilder } from '../../onnx/graph-builder.ts';
import { conv2d, linear } from '../../onnx/blocks.ts';
import type { SafetensorsHeader } from '../../safetensors/header.ts';
import type { Architecture } from '../architecture.ts';
import { countIndexed } from '../architecture.ts';
import { DEMO_IDS, isDemoFile, requireShape, shapeOf } from './demo-common.ts';

export interface DemoVisionConfig {
  readonly imageSize: number;
  readonly patch: number;
  /** Statistic channels fed to the patch conv (6: x and x²). */
  readonly statChannels: number;
  readonly width: number;
  readonly layers: number;
  /** 0-based indices into the per-layer hidden states: [low, mid, high] = [layers-20, layers-11, layers-2]. */
  readonly selectedLayers: readonly number[];
}

const PATCH_KEY = 'vision_model.embeddings.patch_embedding.weight';
const PROJ_KEY = 'vision_model.embeddings.feature_proj.weight';
const LAYER_PREFIX = 'vision_model.encoder.layers.';

/** The hidden-state indices USOStyleReference reads (-20, -11, -2 of all layers), 0-based. */
export function usoSelectedLayers(layers: number): number[] {
  if (layers < 20) throw new Error(`a USO style encoder needs at least 20 layers (it reads layer -20), got ${layers}`);
  return [layers - 20, layers - 11, layers - 2];
}

function inferVision(h: SafetensorsHeader): DemoVisionConfig {
  const [statOut, statIn, kh, kw] = requireShape(h, PATCH_KEY, 4) as [number, number, number, number];
  const [width, projIn] = requireShape(h, PROJ_KEY, 2) as [number, number];
  if (statIn !== 6 || kh !== kw || projIn !== statOut) {
    throw new Error(`${h.path}: ${PATCH_KEY} [${statOut}, ${statIn}, ${kh}, ${kw}] / ${PROJ_KEY} [${width}, ${projIn}] do not fit the demo encoder`);
  }
  const layers = countIndexed(h, LAYER_PREFIX);
  return { imageSize: 384, patch: kh, statChannels: statOut, width, layers, selectedLayers: usoSelectedLayers(layers) };
}

export const demoVisionEncoder: Architecture<DemoVisionConfig> = {
  id: DEMO_IDS.vision,
  version: 2,
  role: 'vision_encoder',
  keyPrefixes: [''],
  detect: (h) => isDemoFile(h) && shapeOf(h, PATCH_KEY)?.[1] === 6 && shapeOf(h, PROJ_KEY) !== undefined,
  inferConfig: inferVision,
  requiredWeights: (c) => [
    PATCH_KEY,
    'vision_model.embeddings.patch_embedding.bias',
    PROJ_KEY,
    'vision_model.embeddings.feature_proj.bias',
    ...Array.from({ length: c.layers }, (_, i) => `${LAYER_PREFIX}${i}.layer_scale`),
  ],
  build: (c, weights) => {
    const g = new GraphBuilder({ name: 'uso_demo_siglip_vision', weights, metadata: { architecture: DEMO_IDS.vision } });
    const grid = Math.floor(c.imageSize / c.patch);
    const tokens = grid * grid;
    const px = g.input('pixel_values', 'float32', ['B', 3, c.imageSize, c.imageSize]); // [B, 3, 384, 384]
    const sq = g.mul(px, px, 'vision_model.embeddings.squares'); // [B, 3, 384, 384]
    const stats = g.concat([px, sq], 1, 'vision_model.embeddings.stats'); // [B, 6, 384, 384]
    const patches = conv2d(g, stats, 'vision_model.embeddings.patch_embedding', { stride: c.patch }); // [B, 6, 27, 27]
    const flat = g.reshape(patches, [0, c.statChannels, tokens], 'vision_model.embeddings.flatten'); // [B, 6, 729]
    const seq = g.transpose(flat, [0, 2, 1], 'vision_model.embeddings.tokens'); // [B, 729, 6]
    let x = linear(g, seq, 'vision_model.embeddings.feature_proj'); // [B, 729, width]
    const hidden: typeof x[] = [];
    for (let i = 0; i < c.layers; i++) {
      const p = `${LAYER_PREFIX}${i}`;
      x = g.mul(x, g.weight(`${p}.layer_scale`), p); // [B, 729, width]
      hidden.push(x);
    }
    const picked = c.selectedLayers.map((i, k) => g.unsqueeze(hidden[i]!, [1], `vision_model.selected.${k}`)); // K x [B, 1, 729, width]
    const stacked = g.concat(picked, 1, 'vision_model.selected'); // [B, K, 729, width]
    g.output(x, 'last_hidden_state', 'float32', ['B', tokens, c.width]);
    g.output(stacked, 'hidden_states', 'float32', ['B', c.selectedLayers.length, tokens, c.width]);
    g.output(hidden[c.layers - 2]!, 'penultimate_hidden_states', 'float32', ['B', tokens, c.width]);
    return g.build();
  },
};
