/**
 * Limits a prompt must meet before it is queued, each refused with ComfyUI's `{error, node_errors}` shape and a
 * message saying what to change: the size of one prompt's JSON, the length of any text input (far above what a text
 * encoder reads: T5 takes 512 tokens), the memory the prompt would need (memory-estimate.ts) against the server's
 * budget, and the bytes the pending queue may hold in SQLite.
 */
import { freemem } from 'node:os';
import type { ApiPrompt, HostEnvironment, NodeRegistry } from '@uso-studio/core';
import { T5_TEXT_INPUTS, estimatePromptMemory, type EstimateScale } from './memory-estimate.ts';

export interface PromptLimits {
  /** Memory a prompt may need, by the estimate (`--max-memory-mb`; default half the RAM free at start). */
  maxMemoryBytes: number;
  /** Longest text input, in characters (`--max-text-chars`). */
  maxTextChars: number;
  /** Largest prompt JSON (the `prompt` object alone, not extra_data), in bytes (`--max-prompt-mb`). */
  maxPromptBytes: number;
  /** Bytes the pending prompts may occupy in the queue database (`--max-queue-mb`). */
  maxQueueBytes: number;
}

export const DEFAULT_MAX_TEXT_CHARS = 100_000;
export const DEFAULT_MAX_PROMPT_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_QUEUE_BYTES = 512 * 1024 * 1024;

/**
 * Half the RAM free when the server starts, at least 1 GiB: what one prompt may use while the machine keeps room for
 * the estimate's error, onnxruntime's arenas and everything else running (a 16384² demo prompt, about 16 GB by the
 * estimate, is refused on a machine with 20 GB free).
 */
export function defaultMemoryBudgetBytes(free = freemem()): number {
  return Math.max(2 ** 30, Math.floor(free * 0.5));
}

export function defaultPromptLimits(overrides: Partial<PromptLimits> = {}): PromptLimits {
  return {
    maxMemoryBytes: overrides.maxMemoryBytes ?? defaultMemoryBudgetBytes(),
    maxTextChars: overrides.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS,
    maxPromptBytes: overrides.maxPromptBytes ?? DEFAULT_MAX_PROMPT_BYTES,
    maxQueueBytes: overrides.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES,
  };
}

/** ComfyUI's refusal body for POST /prompt. */
export interface PromptRefusal {
  error: { type: string; message: string; details: string; extra_info: Record<string, unknown> };
  node_errors: Record<string, { errors: { type: string; message: string; details: string; extra_info: Record<string, unknown> }[]; dependent_outputs: string[]; class_type: string }>;
}

const mb = (bytes: number) => Math.ceil(bytes / 2 ** 20).toLocaleString('en-US');

function refusal(type: string, message: string, details: string, extra: Record<string, unknown>, node?: { id: string; classType: string }): PromptRefusal {
  const error = { type, message, details, extra_info: extra };
  return { error, node_errors: node ? { [node.id]: { errors: [error], dependent_outputs: [], class_type: node.classType } } : {} };
}

/** The prompt JSON's size (the validated prompt, without extra_data). */
export function checkPromptSize(promptJsonBytes: number, limits: PromptLimits): PromptRefusal | undefined {
  if (promptJsonBytes <= limits.maxPromptBytes) return undefined;
  return refusal(
    'prompt_too_large',
    `The prompt is ${mb(promptJsonBytes)} MB of JSON; the limit is ${mb(limits.maxPromptBytes)} MB (--max-prompt-mb).`,
    'Shorten its text inputs; images and models are referenced by file name, never sent inside the prompt.',
    { prompt_bytes: promptJsonBytes, limit_bytes: limits.maxPromptBytes },
  );
}

/** Text inputs longer than the limit (the first one found names its node and input). */
export function checkTextLengths(prompt: ApiPrompt, limits: PromptLimits): PromptRefusal | undefined {
  for (const [id, node] of Object.entries(prompt)) {
    for (const [name, value] of Object.entries(node.inputs ?? {})) {
      if (typeof value === 'string' && value.length > limits.maxTextChars) {
        return refusal(
          'value_too_long',
          `Node ${id} (${node.class_type}): input '${name}' is ${value.length.toLocaleString('en-US')} characters; the limit is ${limits.maxTextChars.toLocaleString('en-US')} (--max-text-chars).`,
          'Text encoders read only the start of a prompt (T5: 512 tokens, CLIP: 77), so shorten it.',
          { input_name: name, length: value.length, limit: limits.maxTextChars },
          { id, classType: node.class_type },
        );
      }
    }
  }
  return undefined;
}

/** The largest integer in [lo, hi] for which `fits` holds (fits(lo) assumed), by bisection. */
async function largestFitting(lo: number, hi: number, fits: (n: number) => Promise<boolean>): Promise<number> {
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (await fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * What would fit the budget: a shorter text when a text encoder needs the most, else a smaller batch, else a smaller
 * picture, else advice about input images.
 */
async function whatFits(
  prompt: ApiPrompt,
  registry: NodeRegistry,
  env: HostEnvironment,
  budget: number,
  peakClass: string | undefined,
): Promise<{ text: string; extra: Record<string, unknown> }> {
  const fitsWith = async (scale: EstimateScale) => (await estimatePromptMemory(prompt, registry, env, scale, budget)).bytes <= budget;
  const textOf = (n: ApiPrompt[string]) => n.inputs?.[T5_TEXT_INPUTS[n.class_type] ?? ''];
  const longest = Math.max(0, ...Object.values(prompt).map((n) => (typeof textOf(n) === 'string' ? (textOf(n) as string).length : 0)));
  if (peakClass !== undefined && peakClass in T5_TEXT_INPUTS && longest > 1 && (await fitsWith({ text: 1 / longest }))) {
    const chars = await largestFitting(1, longest, (c) => fitsWith({ text: c / longest }));
    return { text: `A text of up to about ${chars.toLocaleString('en-US')} characters fits (the T5 encoder's attention grows with the square of its tokens).`, extra: { max_text_chars: chars } };
  }
  const latents = Object.values(prompt).filter((n) => n.class_type === 'EmptyLatentImage' || n.class_type === 'EmptySD3LatentImage');
  const maxBatch = Math.max(1, ...latents.map((n) => Number(n.inputs.batch_size) || 1));
  if (maxBatch > 1 && (await fitsWith({ batch: 1 / maxBatch }))) {
    const batch = await largestFitting(1, maxBatch, (b) => fitsWith({ batch: b / maxBatch }));
    return { text: `At this size a batch_size of up to ${batch} fits; larger batches can be queued as several prompts.`, extra: { max_batch_size: batch } };
  }
  const first = latents[0];
  if (first && (await fitsWith({ batch: 1 / maxBatch, size: 1 / 64 }))) {
    const w = Number(first.inputs.width) || 512;
    const h = Number(first.inputs.height) || 512;
    // Bisect on the width in steps of 16 pixels, keeping the aspect ratio.
    const steps = await largestFitting(1, Math.max(1, Math.floor(w / 16)), (k) => fitsWith({ batch: 1 / maxBatch, size: (k * 16) / w }));
    const fw = steps * 16;
    const fh = Math.max(16, Math.floor((h * fw) / w / 16) * 16);
    return { text: `A picture of up to about ${fw}x${fh} fits${maxBatch > 1 ? ' with batch_size 1' : ''}.`, extra: { max_width: fw, max_height: fh } };
  }
  return { text: 'Use smaller input images (scale them down before uploading), or start the server with a larger --max-memory-mb if this machine has the RAM.', extra: {} };
}

/** The memory the prompt would need, against the budget. */
export async function checkMemoryBudget(prompt: ApiPrompt, registry: NodeRegistry, env: HostEnvironment, limits: PromptLimits): Promise<PromptRefusal | undefined> {
  const estimate = await estimatePromptMemory(prompt, registry, env, {}, limits.maxMemoryBytes);
  if (estimate.bytes <= limits.maxMemoryBytes) return undefined;
  const peak = estimate.peakNode;
  const fits = await whatFits(prompt, registry, env, limits.maxMemoryBytes, peak?.classType);
  return refusal(
    'memory_budget_exceeded',
    `This prompt needs about ${mb(estimate.bytes)} MB of memory${peak ? ` (the most for node ${peak.id} (${peak.classType}), ${peak.what}: about ${mb(peak.bytes)} MB)` : ''}, more than the server's budget of ${mb(limits.maxMemoryBytes)} MB (--max-memory-mb). ${fits.text}`,
    fits.text,
    { estimated_bytes: estimate.bytes, budget_bytes: limits.maxMemoryBytes, ...fits.extra },
    peak ? { id: peak.id, classType: peak.classType } : undefined,
  );
}

/** The pending queue's stored bytes plus this prompt's, against the limit. */
export function queueStorageFull(storedBytes: number, itemBytes: number, limits: PromptLimits): string | undefined {
  if (storedBytes + itemBytes <= limits.maxQueueBytes) return undefined;
  return `The queue holds ${mb(storedBytes)} MB of pending prompts and this one adds ${mb(itemBytes)} MB, over the ${mb(limits.maxQueueBytes)} MB limit (--max-queue-mb); retry when some have run.`;
}
