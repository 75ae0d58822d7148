/**
 * The USO style projector (`uso-projector`), the real architecture ("SigLIPMultiFeatProjModel"): three branches over
 * the vision encoder's hidden states after layers -20 (low), -11 (mid) and -2 (high). Each branch:
 * [B, T, W] -> transpose [B, W, T] -> Linear T->S (`<x>_embedding_linear.0`) -> SiLU -> transpose [B, S, W]
 * -> LayerNorm(W, eps 1e-5) (`<x>_layer_norm`, optional: some USO builds use none) -> Linear W->hidden
 * (`<x>_projection`). Output cat(high, mid, low) [B, 3S, hidden] (real weights: 3 x 64 = 192 tokens x 3072).
 *
 * Files keep the names under `feature_embedder.`; ComfyUI recognises them by `feature_embedder.mid_layer_norm.bias`.
 */

import { GraphBuilder, type Value } from '../../onnx/graph-builder.ts';
import { layerNorm, linear } from '../../onnx/blocks.ts';
import type { SafetensorsHeader } from '../../safetensors/header.ts';
import type { Architecture } from '../architecture.ts';
import { DEMO_IDS, requireShape } from './demo-common.ts';

export interface UsoProjectorConfig {
  /** Vision tokens per image (729). */
  readonly visionTokens: number;
  /** Style tokens per branch (64). */
  readonly styleTokens: number;
  /** Vision width (1152). */
  readonly width: number;
  /** DiT width (3072). */
  readonly hidden: number;
  /** Whether the branches have LayerNorms (`<x>_layer_norm.*`). */
  readonly layerNorm: boolean;
}

/** Branch names in the order of the input's K axis (low, mid, high). */
const INPUT_ORDER = ['low', 'mid', 'high'] as const;
/** Branch order of the output, as USO concatenates them. */
const OUTPUT_ORDER = ['high', 'mid', 'low'] as const;

function inferProjector(h: SafetensorsHeader): UsoProjectorConfig {
  const [styleTokens, visionTokens] = requireShape(h, 'high_embedding_linear.0.weight', 2) as [number, number];
  const [hidden, width] = requireShape(h, 'high_projection.weight', 2) as [number, number];
  const layerNormPresent = h.tensors.has('mid_layer_norm.bias') || h.tensors.has('mid_layer_norm.weight');
  if (layerNormPresent) {
    const [w] = requireShape(h, 'high_layer_norm.weight', 1);
    if (w !== width) throw new Error(`${h.path}: high_layer_norm.weight has width ${w}, projection reads ${width}`);
  }
  return { visionTokens, styleTokens, width, hidden, layerNorm: layerNormPresent };
}

export const usoProjector: Architecture<UsoProjectorConfig> = {
  id: DEMO_IDS.projector,
  version: 1,
  role: 'projector',
  // Accelerators get float16 products (onnx/mixed-precision.ts); norms and the rest stay float32.
  computeDtypes: ['float32', 'float16'],
  keyPrefixes: ['feature_embedder.', ''],
  detect: (h) =>
    h.tensors.has('high_embedding_linear.0.weight') &&
    h.tensors.has('mid_embedding_linear.0.weight') &&
    h.tensors.has('low_embedding_linear.0.weight') &&
    h.tensors.has('high_projection.weight'),
  inferConfig: inferProjector,
  requiredWeights: (c) =>
    INPUT_ORDER.flatMap((x) => [
      `${x}_embedding_linear.0.weight`,
      `${x}_embedding_linear.0.bias`,
      ...(c.layerNorm ? [`${x}_layer_norm.weight`, `${x}_layer_norm.bias`] : []),
      `${x}_projection.weight`,
      `${x}_projection.bias`,
    ]),
  build: (c, weights) => {
    const g = new GraphBuilder({ name: 'uso_projector', weights, metadata: { architecture: DEMO_IDS.projector } });
    const hs = g.input('hidden_states', 'float32', ['B', 3, c.visionTokens, c.width]); // [B, 3, T, W]
    const parts = g.split(hs, [1, 1, 1], 1, 'split'); // 3 x [B, 1, T, W]
    const byName = new Map<string, Value>();
    INPUT_ORDER.forEach((x, k) => byName.set(x, g.squeeze(parts[k]!, [1], `${x}_input`))); // [B, T, W]
    const outs = OUTPUT_ORDER.map((x) => {
      const t = g.transpose(byName.get(x)!, [0, 2, 1], `${x}_embedding_linear.transpose_in`); // [B, W, T]
      const e = linear(g, t, `${x}_embedding_linear.0`); // [B, W, S]
      const act = g.silu(e, `${x}_embedding_linear.1`); // [B, W, S]
      let y = g.transpose(act, [0, 2, 1], `${x}_embedding_linear.transpose_out`); // [B, S, W]
      if (c.layerNorm) y = layerNorm(g, y, `${x}_layer_norm`, { dim: c.width, eps: 1e-5, affine: true }); // [B, S, W]
      return linear(g, y, `${x}_projection`); // [B, S, hidden]
    });
    const style = g.concat(outs, 1, 'style_tokens_cat'); // [B, 3S, hidden]
    g.output(style, 'style_tokens', 'float32', ['B', 3 * c.styleTokens, c.hidden]);
    return g.build();
  },
};
