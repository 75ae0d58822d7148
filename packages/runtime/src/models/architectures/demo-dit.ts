/**
 * The demo DiT (`uso-demo-dit`): the FLUX DiT's interface (CONTRACTS.dit) with a hand-written velocity field instead
 * of a transformer, so every USO input visibly does its job: reference latents give the structure, style tokens the
 * colours and contrast, the prompt a pattern when there is no reference, guidance the contrast, the seed the grain.
 *
 * All maths is in Flux's processed latent space (process_in(z) = (z - 0.1159) * 0.3611). Token feature f of a packed
 * demo latent is colour c = floor(f / 16) for f < 48 (channel c*4+q, quadrant q, 2x2 position s: f = c*16 + q*4 + s);
 * features 48..63 are the unused channels 12..15.
 *
 * 1. Positions: (row, col) of img_ids and of ref_img_ids, each normalised to [0, 1] over its own extent.
 * 2. Structure B [B, N, 64]: with references (R > 0), the reference latents resampled onto the target grid at
 *    sub-cell resolution (scatter into a canvas over the references' id extent, separable Gaussian resampling,
 *    gather; see resampleReferences). Without: a text pattern, colour c at p =
 *    tint_c + sum_k amp_{k,c} cos(2 pi (fr_k row + fc_k col) + phase_k), where [tint, freqs, amps] = `txt_in`(mean of
 *    the txt tokens whose last feature is set) and phase = `vector_in`(y), evaluated at the 16 sub-cells (quadrant x
 *    latent pixel) that colour c's 16 features of a token stand for.
 * 3. Colour transfer (S > 0): per colour, D = (B - mu_B) / sigma_B * sigma_S + mu_S - B with the style's mean and
 *    standard deviation read from the style tokens (features 0..2 = E c, 3..5 = E c^2, pixel space) mapped into
 *    processed space, sigma_S scaled by (guidance / 3.5)^0.3; T = B + `double_blocks.0.img_attn.proj`(D). The demo
 *    file sets that weight to 0.35 I; the demo USO LoRA adds 0.65 I, so with the LoRA the style applies fully.
 * 4. x0* = T + 0.02 tanh(eps^) with eps^ = (x - (1 - sigma) T) / max(sigma, 1e-4): seed-dependent grain, bounded.
 * 5. velocity = (x - x0*) / max(sigma, 1e-4), so an Euler run from pure noise ends on x0*.
 */

import { GraphBuilder, type Value } from '../../onnx/graph-builder.ts';
import { linear } from '../../onnx/blocks.ts';
import type { SafetensorsHeader } from '../../safetensors/header.ts';
import { countIndexed, type Architecture } from '../architecture.ts';
import { DEMO_IDS, axisSizeFloat, isDemoFile, requireShape, safeMaxMin } from './demo-common.ts';
import { resampleReferences } from './demo-dit-resample.ts';

export interface DemoDitConfig {
  /** Text token width (txt [B, L, ctx]). */
  readonly ctx: number;
  /** Pooled vector width (y [B, vec]). */
  readonly vec: number;
  /** Cosine waves of the text pattern. */
  readonly waves: number;
  /** Number of `double_blocks.N` (1 in the demo file; only block 0 is read). */
  readonly depth: number;
}

/** Fixed numbers of the demo velocity field (part of the architecture, not of the file). */
export const DEMO_DIT_CONSTANTS = Object.freeze({
  latentShift: 0.1159,
  latentScale: 0.3611,
  /** Grain amplitude (processed space). */
  grain: 0.02,
  /** Guidance at which the style's contrast is taken as is. */
  guidanceReference: 3.5,
  contrastExponent: 0.3,
  sigmaFloor: 1e-4,
  /** Added to variances before square roots, so flat structures give no NaN. */
  varianceEps: 1e-6,
  patchFeatures: 64,
  colourFeatures: 16,
});

const PROJ = 'double_blocks.0.img_attn.proj';

function inferDit(h: SafetensorsHeader): DemoDitConfig {
  const [params, ctx] = requireShape(h, 'txt_in.weight', 2) as [number, number];
  const [waves, vec] = requireShape(h, 'vector_in.weight', 2) as [number, number];
  const [out, inF] = requireShape(h, `${PROJ}.weight`, 2) as [number, number];
  if (out !== 64 || inF !== 64) throw new Error(`${h.path}: ${PROJ}.weight is [${out}, ${inF}], the demo DiT needs [64, 64]`);
  if (params !== 3 + 5 * waves) {
    throw new Error(`${h.path}: txt_in.weight has ${params} rows; with ${waves} waves (vector_in.weight) it needs ${3 + 5 * waves}`);
  }
  return { ctx, vec, waves, depth: countIndexed(h, 'double_blocks.') };
}

/**
 * Normalised (row, col) of ids [B, M, 3] over their own extent: (id - min + 0.5) / (max - min + 1).
 * -> positions [B, M, 2] and extent [B, 1, 2]. Safe for M = 0.
 */
function normalisedPositions(g: GraphBuilder, ids: Value, name: string): { pos: Value; extent: Value } {
  const rc = g.slice(ids, [1], [3], [2], undefined, `${name}.row_col`); // [B, M, 2]
  const { max, min } = safeMaxMin(g, rc, `${name}.range`); // [B, 1, 2] each
  const extent = g.add(g.sub(max, min, `${name}.span`), g.scalar(1), `${name}.extent_raw`); // [B, 1, 2]
  const safeExtent = g.op('Max', [extent, g.scalar(1)], { name: `${name}.extent` }); // [B, 1, 2]
  const shifted = g.add(g.sub(rc, min, `${name}.from_min`), g.scalar(0.5), `${name}.centred`); // [B, M, 2]
  return { pos: g.div(shifted, safeExtent, `${name}.pos`), extent: safeExtent }; // [B, M, 2]
}

/**
 * Offsets, in token units, of the 16 sub-cells behind a colour's features k = q*4 + s (quadrant q = qy*2+qx of latent
 * pixel s = dy*2+dx): sub-row u = 2dy + qy, sub-col v = 2dx + qx, centre (u + 0.5)/4 - 0.5. Rows: [row offsets; col offsets].
 */
function subCellOffsets(): number[] {
  const rows: number[] = [];
  const cols: number[] = [];
  for (let k = 0; k < 16; k++) {
    const q = k >> 2;
    const sIdx = k & 3;
    rows.push((2 * (sIdx >> 1) + (q >> 1) + 0.5) / 4 - 0.5);
    cols.push((2 * (sIdx & 1) + (q & 1) + 0.5) / 4 - 0.5);
  }
  return [...rows, ...cols];
}

export const demoDit: Architecture<DemoDitConfig> = {
  id: DEMO_IDS.dit,
  version: 4,
  role: 'dit',
  keyPrefixes: ['model.diffusion_model.', ''],
  detect: (h) => isDemoFile(h) && h.tensors.has('txt_in.weight') && h.tensors.has('vector_in.weight') && h.tensors.has(`${PROJ}.weight`),
  inferConfig: inferDit,
  requiredWeights: () => ['txt_in.weight', 'txt_in.bias', 'vector_in.weight', `${PROJ}.weight`, `${PROJ}.bias`],
  build: (c, weights) => {
    const K = DEMO_DIT_CONSTANTS;
    const g = new GraphBuilder({ name: 'uso_demo_dit', weights, metadata: { architecture: DEMO_IDS.dit } });
    const img = g.input('img', 'float32', ['B', 'N', 64]); // [B, N, 64]
    const imgIds = g.input('img_ids', 'float32', ['B', 'N', 3]); // [B, N, 3]
    const ref = g.input('ref_img', 'float32', ['B', 'R', 64]); // [B, R, 64]
    const refIds = g.input('ref_img_ids', 'float32', ['B', 'R', 3]); // [B, R, 3]
    const txt = g.input('txt', 'float32', ['B', 'L', c.ctx]); // [B, L, ctx]
    g.input('txt_ids', 'float32', ['B', 'L', 3]); // [B, L, 3]: all text and style ids are zero; the demo ignores them
    // The demo reads style features 0..5 only, so any style width (the projector's hidden) is accepted.
    const style = g.input('style', 'float32', ['B', 'S', 'hidden']); // [B, S, hidden]
    const timesteps = g.input('timesteps', 'float32', ['B']); // [B]
    const guidance = g.input('guidance', 'float32', ['B']); // [B]
    const y = g.input('y', 'float32', ['B', c.vec]); // [B, vec]

    // 1. Positions of the target tokens.
    const target = normalisedPositions(g, imgIds, 'pos.img'); // pos [B, N, 2], extent [B, 1, 2]

    // 2a. Structure from the references, resampled sub-cell by sub-cell onto the target grid.
    const fromRef = resampleReferences(g, ref, refIds, imgIds); // [B, N, 64]

    // 2b. Structure from the prompt: a smooth cosine pattern.
    const txtSum = g.reduceSum(txt, [1], false, 'text.sum'); // [B, ctx]
    const present = g.slice(txtSum, [c.ctx - 1], [c.ctx], [1], undefined, 'text.count'); // [B, 1]
    const txtMean = g.div(txtSum, g.op('Max', [present, g.scalar(1)], { name: 'text.count_min1' }), 'text.mean'); // [B, ctx]
    const params = linear(g, txtMean, 'txt_in'); // [B, 3 + 5W]
    const [tint, freqFlat, ampFlat] = g.split(params, [3, 2 * c.waves, 3 * c.waves], 1, 'text.params'); // [B,3], [B,2W], [B,3W]
    const freqs = g.reshape(freqFlat!, [0, c.waves, 2], 'text.freqs'); // [B, W, 2]
    const amps = g.reshape(ampFlat!, [0, c.waves, 3], 'text.amps'); // [B, W, 3]
    const phase = g.unsqueeze(linear(g, y, 'vector_in'), [1], 'text.phase'); // [B, 1, W]
    // The pattern is evaluated at each of the 16 sub-cells a token's colour features stand for (4x4 quadrants of
    // its 2x2 latent pixels), so decoded pictures are smooth rather than blocky at the token size.
    const turns = g.matMul(target.pos, g.transpose(freqs, [0, 2, 1], 'text.freqs_t'), 'text.turns'); // [B, N, W]
    const freqsPerToken = g.div(freqs, target.extent, 'text.freqs_per_token'); // [B, W, 2]: turns per token step
    const subTurns = g.matMul(freqsPerToken, g.constFloat(subCellOffsets(), [2, 16], 'text.sub_offsets'), 'text.sub_turns'); // [B, W, 16]
    const allTurns = g.add(g.unsqueeze(turns, [-1], 'text.turns4'), g.unsqueeze(subTurns, [1], 'text.sub_turns4'), 'text.cell_turns'); // [B, N, W, 16]
    const angle = g.add(
      g.mul(allTurns, g.scalar(2 * Math.PI), 'text.radians'), // [B, N, W, 16]
      g.unsqueeze(phase, [-1], 'text.phase4'), // [B, 1, W, 1]
      'text.angle',
    ); // [B, N, W, 16]
    const wave = g.transpose(g.cos(angle, 'text.wave'), [0, 1, 3, 2], 'text.wave_cells'); // [B, N, 16, W]
    const colourCells = g.add(
      g.matMul(wave, g.unsqueeze(amps, [1], 'text.amps4'), 'text.colour_waves'), // [B, N, 16, 3]
      g.unsqueeze(tint!, [1, 2], 'text.tint'), // [B, 1, 1, 3]
      'text.colour',
    ); // [B, N, 16, 3]
    const byColour = g.reshape(g.transpose(colourCells, [0, 1, 3, 2], 'text.colour_major'), [0, 0, 48], 'text.colour_features'); // [B, N, 48]
    const processed = g.mul(g.sub(byColour, g.scalar(K.latentShift), 'text.shifted'), g.scalar(K.latentScale), 'text.scaled'); // [B, N, 48]
    // Unused channels 12..15 hold a raw latent of 0, i.e. -shift*scale once processed.
    const fromText = g.op('Pad', [processed, g.constInt64([0, 0, 0, 0, 0, 16]), g.scalar(-K.latentShift * K.latentScale)], {
      name: 'text.processed',
    }); // [B, N, 64]

    const refCount = axisSizeFloat(g, ref, 1, 'ref_count'); // [1]
    const hasRef = g.op('Greater', [refCount, g.scalar(0)], { name: 'has_ref' }); // [1] bool
    const structure = g.where(hasRef, fromRef, fromText, 'structure'); // [B, N, 64]

    // 3. Colour transfer towards the style statistics.
    const colourPart = g.slice(structure, [0], [48], [2], undefined, 'transfer.colour_part'); // [B, N, 48]
    const perColour = g.reshape(colourPart, [0, 0, 3, K.colourFeatures], 'transfer.per_colour'); // [B, N, 3, 16]
    const muB = g.reduceMean(perColour, [1, 3], true, 'transfer.mu_b'); // [B, 1, 3, 1]
    const centred = g.sub(perColour, muB, 'transfer.centred'); // [B, N, 3, 16]
    const varB = g.reduceMean(g.mul(centred, centred, 'transfer.sq'), [1, 3], true, 'transfer.var_b'); // [B, 1, 3, 1]
    const sigmaB = g.sqrt(g.add(varB, g.scalar(K.varianceEps), 'transfer.var_b_eps'), 'transfer.sigma_b'); // [B, 1, 3, 1]

    const styleCount = axisSizeFloat(g, style, 1, 'style_count'); // [1]
    const styleSum = g.reduceSum(style, [1], false, 'style.sum'); // [B, hidden]
    const styleMean = g.div(styleSum, g.op('Max', [styleCount, g.scalar(1)], { name: 'style.count_min1' }), 'style.mean'); // [B, hidden]
    const [eC, eC2] = g.split(g.slice(styleMean, [0], [6], [1], undefined, 'style.stats'), [3, 3], 1, 'style.moments'); // [B, 3] x 2
    const varS = g.op('Max', [g.sub(eC2!, g.mul(eC!, eC!, 'style.mean_sq'), 'style.var_raw'), g.scalar(0)], { name: 'style.var' }); // [B, 3]
    const contrast = g.pow(g.mul(guidance, g.scalar(1 / K.guidanceReference), 'style.guidance_ratio'), g.scalar(K.contrastExponent), 'style.contrast'); // [B]
    const sigmaS = g.mul(
      g.mul(g.sqrt(varS, 'style.sigma_pixels'), g.scalar(K.latentScale), 'style.sigma_latent'), // [B, 3]
      g.unsqueeze(contrast, [1], 'style.contrast_col'), // [B, 1]
      'style.sigma',
    ); // [B, 3]
    const muS = g.mul(g.sub(eC!, g.scalar(K.latentShift), 'style.mu_shifted'), g.scalar(K.latentScale), 'style.mu'); // [B, 3]
    const sigmaS4 = g.unsqueeze(sigmaS, [1, 3], 'style.sigma4'); // [B, 1, 3, 1]
    const muS4 = g.unsqueeze(muS, [1, 3], 'style.mu4'); // [B, 1, 3, 1]
    const restyled = g.add(g.mul(g.div(centred, sigmaB, 'transfer.standardised'), sigmaS4, 'transfer.scaled'), muS4, 'transfer.restyled'); // [B, N, 3, 16]
    const deltaColour = g.reshape(g.sub(restyled, perColour, 'transfer.delta4'), [0, 0, 48], 'transfer.delta_colour'); // [B, N, 48]
    const delta = g.op('Pad', [deltaColour, g.constInt64([0, 0, 0, 0, 0, 16])], { name: 'transfer.delta' }); // [B, N, 64]
    const hasStyle = g.op('Greater', [styleCount, g.scalar(0)], { name: 'has_style' }); // [1] bool
    const gatedIn = g.where(hasStyle, delta, g.scalar(0), 'transfer.delta_if_style'); // [B, N, 64]
    const gated = linear(g, gatedIn, PROJ); // [B, N, 64]
    const targetX0 = g.add(structure, gated, 'x0_clean'); // [B, N, 64]

    // 4-5. Grain and velocity.
    const sigma = g.reshape(timesteps, [-1, 1, 1], 'sigma'); // [B, 1, 1]
    const sigmaSafe = g.op('Max', [sigma, g.scalar(K.sigmaFloor)], { name: 'sigma_safe' }); // [B, 1, 1]
    const keep = g.sub(g.scalar(1), sigma, 'one_minus_sigma'); // [B, 1, 1]
    const noiseEst = g.div(g.sub(img, g.mul(targetX0, keep, 'x0_scaled'), 'noise_part'), sigmaSafe, 'eps_hat'); // [B, N, 64]
    const x0 = g.add(targetX0, g.mul(g.tanh(noiseEst, 'grain_shape'), g.scalar(K.grain), 'grain'), 'x0'); // [B, N, 64]
    const velocity = g.div(g.sub(img, x0, 'x_minus_x0'), sigmaSafe, 'velocity_raw'); // [B, N, 64]
    g.output(velocity, 'velocity', 'float32', ['B', 'N', 64]);
    return g.build();
  },
};
