/**
 * Graph contracts: for each model role, the names, dtypes and shapes of the inputs a graph takes and the outputs it
 * gives. Nodes code against roles, architectures promise to honour them, so a demo DiT and FLUX are interchangeable.
 *
 * Symbolic dims: B batch; N target image tokens; R reference image tokens; L text tokens; S style tokens; H, W pixels;
 * T vision tokens; K selected vision layers. Tokens are the packed 2x2 latent patches (see uso-model.md, step 4).
 * Inputs a mode does not use are fed with a zero-length token axis (e.g. ref_img [B, 0, 64], style [B, 0, 3072]),
 * so one graph serves every USO mode.
 */

import onnxProto from 'onnx-proto';
import { ONNX_DTYPE_CODES, type OnnxDType } from '../onnx/dtypes.ts';
import type { Dim } from '../onnx/graph-builder.ts';

export type Role = 'dit' | 'vae_encoder' | 'vae_decoder' | 'vision_encoder' | 'projector' | 't5' | 'clip';

export const ROLES: readonly Role[] = ['dit', 'vae_encoder', 'vae_decoder', 'vision_encoder', 'projector', 't5', 'clip'];

export interface TensorSpec {
  readonly name: string;
  readonly dtype: OnnxDType;
  /** Numbers are fixed sizes; strings are symbolic; `ctx`, `hidden`, `latent`... name config-dependent widths. */
  readonly dims: readonly Dim[];
  readonly doc: string;
}

export interface GraphContract {
  readonly role: Role;
  readonly inputs: readonly TensorSpec[];
  /** Inputs a graph of the role may have (checked when present), e.g. `lora_strengths` of a DiT built with LoRAs. */
  readonly optionalInputs?: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

const f32 = (name: string, dims: Dim[], doc: string): TensorSpec => ({ name, dtype: 'float32', dims, doc });
const i64 = (name: string, dims: Dim[], doc: string): TensorSpec => ({ name, dtype: 'int64', dims, doc });

/** Graphs built with run-time LoRA branches (DiT and text encoders) read one strength per LoRA file here. */
const LORA_STRENGTHS = f32('lora_strengths', ['K'], 'one strength per LoRA file the graph was built with (run-time LoRA branches), in LoRA order');

/** Every role's contract. Widths that vary by architecture use symbolic names (ctx, hidden, vec). */
export const CONTRACTS: Readonly<Record<Role, GraphContract>> = {
  dit: {
    role: 'dit',
    inputs: [
      f32('img', ['B', 'N', 64], 'noisy target latent, packed 2x2 patches (16 channels x 2 x 2)'),
      f32('img_ids', ['B', 'N', 3], 'RoPE ids (axis0, row, col) of the target tokens'),
      f32('ref_img', ['B', 'R', 64], 'packed reference (subject) latents, R = 0 when none'),
      f32('ref_img_ids', ['B', 'R', 3], 'RoPE ids of the reference tokens (offset placement)'),
      f32('txt', ['B', 'L', 'ctx'], 'text encoder output (T5: ctx 4096)'),
      f32('txt_ids', ['B', 'L', 3], 'RoPE ids of the text tokens (zeros for FLUX)'),
      f32('style', ['B', 'S', 'hidden'], 'projected style tokens, already DiT-wide, S = 0 when none; their ids are zeros'),
      f32('timesteps', ['B'], 'flow time t in [0, 1] (the graph multiplies by 1000)'),
      f32('guidance', ['B'], 'distilled guidance scale (e.g. 4.0)'),
      f32('y', ['B', 'vec'], 'pooled text vector (CLIP-L: vec 768)'),
    ],
    optionalInputs: [LORA_STRENGTHS],
    outputs: [f32('velocity', ['B', 'N', 64], 'predicted velocity for the target tokens only')],
  },
  vae_encoder: {
    role: 'vae_encoder',
    inputs: [f32('image', ['B', 3, 'H', 'W'], 'RGB in -1..1, H and W multiples of 8')],
    outputs: [f32('latent', ['B', 'latent', 'H/8', 'W/8'], 'raw posterior mean (no scale/shift; FLUX: 16 channels)')],
  },
  vae_decoder: {
    role: 'vae_decoder',
    inputs: [f32('latent', ['B', 'latent', 'h', 'w'], 'raw latent (scale/shift already undone)')],
    outputs: [f32('image', ['B', 3, 'h*8', 'w*8'], 'RGB about -1..1, not clamped')],
  },
  vision_encoder: {
    role: 'vision_encoder',
    inputs: [
      f32('pixel_values', ['B', 3, 'size', 'size'], 'normalised pixels ((x/255 - 0.5) / 0.5 for SigLIP); size is the config\'s (so400m: 384; a toy config: sqrt(position rows) x patch)'),
    ],
    outputs: [
      f32('last_hidden_state', ['B', 'T', 'width'], 'output after the final layer norm (SigLIP so400m: T 729, width 1152); also ComfyUI\'s image_embeds for SigLIP'),
      f32('hidden_states', ['B', 'K', 'T', 'width'], "hidden states after the config's selected layers, in its order (USO: after layers 8, 17, 26 of 27, before the final norm)"),
      f32('penultimate_hidden_states', ['B', 'T', 'width'], "output of the second-to-last layer, before the final norm (ComfyUI's penultimate_hidden_states)"),
    ],
  },
  projector: {
    role: 'projector',
    inputs: [f32('hidden_states', ['B', 'K', 'T', 'width'], "the vision encoder's selected hidden states")],
    outputs: [f32('style_tokens', ['B', 'S', 'hidden'], 'style tokens for the DiT (USO: S = 192, hidden 3072)')],
  },
  t5: {
    role: 't5',
    inputs: [i64('input_ids', ['B', 'L'], 'token ids, padded (USO: L = 512)')],
    optionalInputs: [LORA_STRENGTHS],
    outputs: [f32('last_hidden_state', ['B', 'L', 'ctx'], 'encoder output (t5-v1_1-xxl: ctx 4096)')],
  },
  clip: {
    role: 'clip',
    inputs: [i64('input_ids', ['B', 77], 'token ids with start/end tokens, padded to 77')],
    optionalInputs: [LORA_STRENGTHS],
    outputs: [f32('pooled', ['B', 'vec'], 'final-layernormed state at the end-of-text token (CLIP-L: vec 768)')],
  },
};

/** A built graph does not honour its role's contract. */
export class ContractError extends Error {
  override name = 'ContractError';
}

const CODE_TO_DTYPE = new Map<number, OnnxDType>(Object.entries(ONNX_DTYPE_CODES).map(([k, v]) => [v, k as OnnxDType]));

/**
 * Checks a serialised model's graph inputs and outputs against a contract: every contract input and output must be
 * present with the contract's dtype and rank, and the graph may not require inputs the contract lacks.
 * `label` names the model in the error (e.g. the architecture id and the weight file).
 */
export function checkContract(modelBytes: Uint8Array, contract: GraphContract, label: string): void {
  const model = onnxProto.onnx.ModelProto.decode(modelBytes);
  const graph = model.graph;
  if (!graph) throw new ContractError(`${label}: model has no graph`);
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const inputs = new Map((graph.input ?? []).map((v) => [v.name ?? '', v] as const).filter(([n]) => !initializers.has(n)));
  const outputs = new Map((graph.output ?? []).map((v) => [v.name ?? '', v] as const));
  const problems: string[] = [];
  const check = (kind: string, spec: TensorSpec, found: onnxProto.onnx.IValueInfoProto | undefined) => {
    if (!found) return problems.push(`missing ${kind} '${spec.name}'`);
    const tt = found.type?.tensorType;
    const dtype = CODE_TO_DTYPE.get(tt?.elemType ?? -1);
    if (dtype !== spec.dtype) problems.push(`${kind} '${spec.name}' is ${dtype ?? 'untyped'}, expected ${spec.dtype}`);
    const rank = tt?.shape?.dim?.length;
    if (rank !== undefined && rank !== spec.dims.length) {
      problems.push(`${kind} '${spec.name}' has rank ${rank}, expected ${spec.dims.length} [${spec.dims.join(', ')}]`);
    }
    return undefined;
  };
  for (const spec of contract.inputs) check('input', spec, inputs.get(spec.name));
  for (const spec of contract.outputs) check('output', spec, outputs.get(spec.name));
  for (const spec of contract.optionalInputs ?? []) if (inputs.has(spec.name)) check('input', spec, inputs.get(spec.name));
  const known = new Set([...contract.inputs, ...(contract.optionalInputs ?? [])].map((s) => s.name));
  for (const name of inputs.keys()) if (!known.has(name)) problems.push(`unexpected input '${name}'`);
  if (problems.length > 0) {
    throw new ContractError(`${label}: graph does not match the ${contract.role} contract: ${problems.join('; ')}`);
  }
}
