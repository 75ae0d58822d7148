/**
 * What a prompt will need in memory, estimated at validation from its sizes alone, so a valid but huge request (a
 * batch of 4096, a 16384² latent, a 16000² input picture) is refused before it takes the queue instead of failing
 * minutes later. The estimate follows the picture sizes through the graph (latent and image sizes × batch) and adds
 * each node's working set: samplers hold a few latent copies plus the DiT's activations for one run (runs are at
 * most DIT_TOKENS_PER_RUN tokens; see nodes/comfy's dit-runner), VAEs a few image copies, image decoding the raw
 * pixels. Every value a prompt produces is counted as kept (the result cache keeps the last prompt's), plus the
 * largest working set of one node. For real model files the working sets are their architectures' own estimates at
 * the prompt's sizes (model-working-memory.ts: the DiT at its image, reference, text and style tokens, the VAE at its
 * picture size, split as the VAE runner splits work that does not fit, T5 at the text's token count); the demo
 * models' figures are measured (bench/hardening.bench.ts). They are estimates, rounded up.
 */
import sharp from 'sharp';
import type { ApiPrompt, HostEnvironment, NodeDefinition, NodeRegistry } from '@uso-studio/core';
import { DIT_TOKENS_PER_RUN } from '@uso-studio/nodes-comfy';
import { imageScaleSize, maxDimensionSize, resolveAnnotatedPath } from '@uso-studio/nodes-image';
import { ModelWorkingMemory } from './model-working-memory.ts';

const F32 = 4;
const LATENT_CHANNELS = 16;
/** Demo DiT activations per token in one run (measured about 1.6 to 2.5 KB; onnxruntime's arena rounds up). */
const DEMO_DIT_BYTES_PER_TOKEN = 3 * 1024;
/** FLUX DiT (hidden 3072, MLP 12288): the live activations of a double block per token, float32, rounded up. */
const FLUX_DIT_BYTES_PER_TOKEN = 160 * 1024;
/** FLUX attention scores: 24 heads × tokens² per item in one run (no fused attention on the CPU). */
const FLUX_ATTENTION_HEADS = 24;
/** Sampler state per latent value: x, noise, denoised, velocity, packed tokens, the previous step (dpmpp_2m), slack. */
const SAMPLER_LATENT_COPIES = 8;
/** VAE working set: the demo decoder holds about 2.4 image copies inside onnxruntime (measured) plus the node's [B, H, W, 3] copy; the real decoder 128-channel maps at full size. */
const DEMO_VAE_COPIES = 4;
const FLUX_VAE_BYTES_PER_PIXEL = 2 * 1024;
/** FLUX's T5-XXL and DiT widths, for the shapes handed to the architectures' estimates. */
const T5_WIDTH = 4096;
const DIT_WIDTH = 3072;
/** Style tokens one USOStyleReference adds (USO's projector output per style image). */
const STYLE_TOKENS = 192;
/**
 * T5 tokens per character of prompt text: English prose averages about 3.8 characters per token with T5's vocabulary
 * (measured on the shipped tokenizer), so a quarter errs on the small side; ComfyUI pads to at least 256.
 */
const T5_CHARS_PER_TOKEN = 4;
const T5_MIN_TOKENS = 256;
/** The VAE runner's fallback tiles (nodes/comfy vae-runner): 64x64 latents to decode, 512x512 pixels to encode. */
const VAE_DECODE_TILE = 64;
const VAE_ENCODE_TILE = 512;

/** Nodes that run T5 over a text, and the input holding that text. */
export const T5_TEXT_INPUTS: Readonly<Record<string, string>> = { CLIPTextEncode: 'text', CLIPTextEncodeFlux: 't5xxl' };

/** Header reads and architecture detection, cached per file for the server's lifetime. */
const realModels = new ModelWorkingMemory();

/** A picture-sized value: LATENT in latent pixels (16 channels), IMAGE/MASK in pixels. */
interface Picture {
  kind: 'LATENT' | 'IMAGE' | 'MASK';
  b: number;
  h: number;
  w: number;
}

function bytesOf(p: Picture): number {
  const channels = p.kind === 'LATENT' ? LATENT_CHANNELS : p.kind === 'IMAGE' ? 3 : 1;
  return p.b * p.h * p.w * channels * F32;
}

/** The estimate: total bytes, and the node whose working set was largest (for messages). */
export interface MemoryEstimate {
  bytes: number;
  /** Node id and class of the largest working set, and what it works on. */
  peakNode?: { id: string; classType: string; what: string; bytes: number };
}

/** Knobs the estimate reads from the prompt: multiply every batch_size, scale every requested width/height and text length. */
export interface EstimateScale {
  batch?: number;
  size?: number;
  text?: number;
}

type Prompt = ApiPrompt;
type Link = [string, number];

function isLink(v: unknown): v is Link {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'number';
}

/** Nodes in dependency order (iterative: a 20,000-node chain must not overflow the stack). */
function topologicalOrder(prompt: Prompt): string[] {
  const order: string[] = [];
  const state = new Map<string, 1 | 2>();
  for (const root of Object.keys(prompt)) {
    if (state.has(root)) continue;
    const stack: [string, boolean][] = [[root, false]];
    while (stack.length) {
      const [id, done] = stack.pop()!;
      if (done) {
        state.set(id, 2);
        order.push(id);
        continue;
      }
      if (state.has(id) || !prompt[id]) continue;
      state.set(id, 1);
      stack.push([id, true]);
      for (const v of Object.values(prompt[id]!.inputs ?? {})) if (isLink(v) && !state.has(v[0])) stack.push([v[0], false]);
    }
  }
  return order;
}

/** Pixel size of an input image file (header only; undefined when it cannot be read: validation reports that). */
async function imageFileSize(name: unknown, env: HostEnvironment): Promise<Picture | undefined> {
  if (typeof name !== 'string') return undefined;
  try {
    const meta = await sharp(resolveAnnotatedPath(name, env), { limitInputPixels: false }).metadata();
    if (!meta.width || !meta.height) return undefined;
    return { kind: 'IMAGE', b: Math.max(1, meta.pages ?? 1), h: meta.height, w: meta.width };
  } catch {
    return undefined;
  }
}

/**
 * Where a sampler's MODEL comes in: its own MODEL input (KSampler), or the `model` input of the guider node feeding its
 * GUIDER input (SamplerCustomAdvanced); undefined when neither is wired that way.
 */
function samplerModelInput(prompt: Prompt, def: NodeDefinition, id: string): { id: string; input: string } | undefined {
  const required = Object.entries(def.inputs.required ?? {});
  const model = required.find(([, d]) => d.type === 'MODEL');
  if (model) return { id, input: model[0] };
  const guider = required.find(([, d]) => d.type === 'GUIDER');
  const link = guider ? prompt[id]?.inputs?.[guider[0]] : undefined;
  if (isLink(link) && isLink(prompt[link[0]]?.inputs?.model)) return { id: link[0], input: 'model' };
  return undefined;
}

/** True when the model file a sampler or VAE uses is a demo file (names of the demo set contain `demo`). */
function usesDemoFile(prompt: Prompt, id: string, seen = new Set<string>()): boolean {
  const node = prompt[id];
  if (!node || seen.has(id)) return false;
  seen.add(id);
  for (const v of Object.values(node.inputs ?? {})) {
    if (typeof v === 'string' && /\.(safetensors|sft)$/i.test(v)) return /demo/i.test(v);
    if (isLink(v) && usesDemoFile(prompt, v[0], seen)) return true;
  }
  return false;
}

/** T5 tokens of a prompt text (at least ComfyUI's padding). */
function t5Tokens(chars: number): number {
  return Math.max(T5_MIN_TOKENS, Math.ceil(chars / T5_CHARS_PER_TOKEN) + 1);
}

/** What the VAE runner will hold: the whole batch if it fits the budget, else one item at a time, else one tile. */
function vaeWorkingSet(estimate: (dims: readonly number[]) => number, dims: readonly number[], tile: number, budget: number): number {
  const whole = estimate(dims);
  if (whole <= budget) return whole;
  const one = estimate([1, ...dims.slice(1)]);
  if (one <= budget) return one;
  return estimate([1, dims[1]!, Math.min(tile, dims[2]!), Math.min(tile, dims[3]!)]);
}

/**
 * Estimates the memory a validated prompt needs. Image inputs are measured from their files' headers (async), real
 * model files from theirs. `scale` re-runs the estimate with batches multiplied or sizes scaled (to say what would
 * fit); `budgetBytes` is the budget it is compared with, which decides how the VAE runner would split its work.
 */
export async function estimatePromptMemory(
  prompt: Prompt,
  registry: NodeRegistry,
  env: HostEnvironment,
  scale: EstimateScale = {},
  budgetBytes = Number.POSITIVE_INFINITY,
): Promise<MemoryEstimate> {
  const outputs = new Map<string, (Picture | undefined)[]>();
  const batchScale = scale.batch ?? 1;
  const sizeScale = scale.size ?? 1;
  const textScale = scale.text ?? 1;
  let kept = 0;
  let peak: MemoryEstimate['peakNode'];
  const referenceTokens = { perItem: 0 };
  // The longest text any CLIPTextEncode encodes and the style images referenced: the DiT runs over their tokens.
  let textTokens = 0;
  let styleTokens = 0;
  for (const node of Object.values(prompt)) {
    const text = node.inputs?.[T5_TEXT_INPUTS[node.class_type] ?? ''];
    if (typeof text === 'string') textTokens = Math.max(textTokens, t5Tokens(text.length * textScale));
    if (node.class_type === 'USOStyleReference') styleTokens += STYLE_TOKENS;
  }

  for (const id of topologicalOrder(prompt)) {
    const node = prompt[id]!;
    const inputs = node.inputs ?? {};
    const def = registry.get(node.class_type);
    const linked: Picture[] = [];
    for (const v of Object.values(inputs)) {
      if (!isLink(v)) continue;
      const p = outputs.get(v[0])?.[v[1]];
      if (p) linked.push(p);
    }
    const largest = (kind: Picture['kind']) =>
      linked.filter((p) => p.kind === kind).reduce<Picture | undefined>((a, p) => (!a || bytesOf(p) > bytesOf(a) ? p : a), undefined);
    const num = (name: string) => (typeof inputs[name] === 'number' ? (inputs[name] as number) : undefined);
    let work = 0;
    let what = '';
    let produced: Picture | undefined;

    switch (node.class_type) {
      case 'EmptyLatentImage':
      case 'EmptySD3LatentImage': {
        const w = Math.max(8, Math.round((num('width') ?? 512) * sizeScale));
        const h = Math.max(8, Math.round((num('height') ?? 512) * sizeScale));
        const b = Math.max(1, Math.floor((num('batch_size') ?? 1) * batchScale));
        produced = { kind: 'LATENT', b, h: Math.ceil(h / 8), w: Math.ceil(w / 8) };
        break;
      }
      case 'LoadImage': {
        const image = await imageFileSize(inputs.image, env);
        if (image) {
          produced = image;
          // Decoding holds the raw RGBA bytes and the float image and mask at once.
          work = image.b * image.h * image.w * (4 + 3 * F32 + F32);
          what = `decoding a ${image.w}x${image.h} image`;
        }
        break;
      }
      case 'ImageScale':
      case 'ImageScaleToMaxDimension': {
        const src = largest('IMAGE');
        if (src) {
          const size =
            node.class_type === 'ImageScale'
              ? imageScaleSize(src.w, src.h, Math.round((num('width') ?? 0) * sizeScale), Math.round((num('height') ?? 0) * sizeScale))
              : maxDimensionSize(src.w, src.h, Math.round((num('largest_size') ?? 512) * sizeScale));
          produced = { kind: 'IMAGE', b: src.b, h: Math.max(1, size.height), w: Math.max(1, size.width) };
          work = bytesOf(src) + bytesOf(produced);
          what = `scaling ${src.b} image(s) to ${produced.w}x${produced.h}`;
        }
        break;
      }
      case 'VAEEncode': {
        const src = largest('IMAGE');
        if (src) {
          produced = { kind: 'LATENT', b: src.b, h: Math.ceil(src.h / 8), w: Math.ceil(src.w / 8) };
          const real = realModels.estimator(prompt, env, id, 'vae', 'VAE', 'vae_encoder');
          work = real
            ? vaeWorkingSet(real, [src.b, 3, src.h, src.w], VAE_ENCODE_TILE, budgetBytes) + bytesOf(src)
            : usesDemoFile(prompt, id)
              ? DEMO_VAE_COPIES * bytesOf(src)
              : src.b * src.h * src.w * FLUX_VAE_BYTES_PER_PIXEL;
          what = `encoding ${src.b} image(s) of ${src.w}x${src.h}`;
        }
        break;
      }
      case 'VAEDecode': {
        const src = largest('LATENT');
        if (src) {
          produced = { kind: 'IMAGE', b: src.b, h: src.h * 8, w: src.w * 8 };
          const real = realModels.estimator(prompt, env, id, 'vae', 'VAE', 'vae_decoder');
          work = real
            ? vaeWorkingSet(real, [src.b, LATENT_CHANNELS, src.h, src.w], VAE_DECODE_TILE, budgetBytes) + bytesOf(produced)
            : usesDemoFile(prompt, id)
              ? DEMO_VAE_COPIES * bytesOf(produced)
              : produced.b * produced.h * produced.w * FLUX_VAE_BYTES_PER_PIXEL;
          what = `decoding ${src.b} latent(s) to ${produced.w}x${produced.h} images`;
        }
        break;
      }
      case 'CLIPTextEncode':
      case 'CLIPTextEncodeFlux': {
        const text = inputs[T5_TEXT_INPUTS[node.class_type]!];
        const real = typeof text === 'string' ? realModels.estimator(prompt, env, id, 'clip', 'CLIP', 't5') : undefined;
        if (real) {
          const tokens = t5Tokens((text as string).length * textScale);
          // A weighted prompt runs T5 on two sequences (the prompt and an empty one of the same length).
          const sequences = /\(.*:\s*-?[\d.]+\s*\)/s.test(text as string) ? 2 : 1;
          work = real([sequences, tokens]);
          what = `encoding a text of about ${tokens.toLocaleString('en-US')} T5 tokens`;
        }
        break;
      }
      case 'ReferenceLatent': {
        const ref = largest('LATENT');
        if (ref) referenceTokens.perItem += Math.ceil(ref.h / 2) * Math.ceil(ref.w / 2);
        break;
      }
      default:
        break;
    }

    const types = def?.outputs.map((o) => o.type) ?? [];
    // A sampler takes the MODEL directly (KSampler) or through a GUIDER (SamplerCustomAdvanced).
    const isSampler = def !== undefined && types.includes('LATENT') && Object.values(def.inputs.required ?? {}).some((d) => d.type === 'MODEL' || d.type === 'GUIDER');
    if (isSampler) {
      const latent = largest('LATENT');
      if (latent) {
        produced = latent;
        const tokens = Math.ceil(latent.h / 2) * Math.ceil(latent.w / 2) + referenceTokens.perItem;
        const items = Math.min(latent.b, Math.max(1, Math.floor(DIT_TOKENS_PER_RUN / tokens)));
        const demo = usesDemoFile(prompt, id);
        const source = samplerModelInput(prompt, def, id);
        const real = source ? realModels.estimator(prompt, env, source.id, source.input, 'MODEL', 'dit') : undefined;
        const imageTokens = Math.ceil(latent.h / 2) * Math.ceil(latent.w / 2);
        const activations = real
          ? real([items, imageTokens, 64], {
              ref_img: [items, referenceTokens.perItem, 64],
              txt: [items, textTokens || T5_MIN_TOKENS, T5_WIDTH],
              style: [items, styleTokens, DIT_WIDTH],
            })
          : demo
            ? items * tokens * DEMO_DIT_BYTES_PER_TOKEN
            : items * tokens * FLUX_DIT_BYTES_PER_TOKEN + items * FLUX_ATTENTION_HEADS * tokens * tokens * F32;
        // Each run also gathers its items' conditioning and reference tokens: 64 values per token, in and out.
        work = SAMPLER_LATENT_COPIES * bytesOf(latent) + activations + 2 * items * tokens * 64 * F32;
        what = `sampling ${latent.b} latent(s) of ${latent.w * 8}x${latent.h * 8} (${tokens} tokens each)`;
      }
    }

    // Any other node passes picture sizes through by type (a LATENT out takes its largest LATENT in, and so on).
    const outs = types.map((t, i) => {
      if (i === 0 && produced && (produced.kind === t || (t === 'MASK' && produced.kind === 'IMAGE'))) return t === 'MASK' ? { ...produced, kind: 'MASK' as const } : produced;
      if (node.class_type === 'LoadImage' && t === 'MASK' && produced) return { ...produced, kind: 'MASK' as const };
      if (t === 'LATENT' || t === 'IMAGE' || t === 'MASK') return largest(t);
      return undefined;
    });
    outputs.set(id, outs);
    for (const o of outs) if (o) kept += bytesOf(o);
    if (work > (peak?.bytes ?? 0)) peak = { id, classType: node.class_type, what, bytes: work };
  }
  return { bytes: kept + (peak?.bytes ?? 0), ...(peak ? { peakNode: peak } : {}) };
}
