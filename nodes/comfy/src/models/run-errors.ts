/**
 * onnxruntime's own failure text (`Non-zero status code returned while running Gather node ... idx=16777216`) means
 * nothing to a user and can be long. A failed run is reported instead as what was being run, on which input sizes,
 * and what to change; the raw text goes to the server log.
 */
import { basename } from 'node:path';
import type { Role, Tensor } from '@uso-studio/runtime';

/** A model run failed inside onnxruntime; `raw` keeps onnxruntime's message (logged, never shown to clients). */
export class ModelRunError extends Error {
  override name = 'ModelRunError';
  constructor(
    message: string,
    readonly raw: string,
  ) {
    super(message);
  }
}

const ROLE_LABELS: Record<Role, string> = {
  dit: 'diffusion model (DiT)',
  vae_encoder: 'VAE encoder',
  vae_decoder: 'VAE decoder',
  vision_encoder: 'vision encoder',
  projector: 'style projector',
  t5: 'T5 text encoder',
  clip: 'CLIP text encoder',
};

/** Phrases onnxruntime's errors carry (status codes, shape and type checks, allocation failures). */
const ORT_TEXT = /Non-zero status code|ONNXRuntimeError|onnxruntime|Status Message|Invalid rank|invalid dimensions|Unexpected input data type|bad_alloc|Failed to allocate|Got invalid|Cannot load model|Protobuf/i;

/** What probably went wrong, from onnxruntime's text, as advice. */
function advice(raw: string): string {
  if (/bad_alloc|allocat|out of memory|memory/i.test(raw)) return 'it ran out of memory at these sizes; use a smaller batch_size or picture size';
  if (/idx=|indice|index|out of (range|bounds)/i.test(raw)) return 'an index went out of range at these sizes; use a smaller batch_size or picture size';
  return 'onnxruntime could not run it at these sizes; try a smaller batch_size or picture size';
}

/** `img [2, 4096, 64], txt [2, 512, 4096], ...` (at most six inputs). */
function describeFeeds(feeds: Readonly<Record<string, Tensor>>): string {
  const parts = Object.entries(feeds).map(([name, t]) => `${name} [${t.shape.join(', ')}]`);
  return parts.length > 6 ? `${parts.slice(0, 6).join(', ')}, ...` : parts.join(', ');
}

/** An isolated session's process ended under a run: `signal` SIGKILL is what the kernel's out-of-memory killer sends. */
function processExit(error: Error): string | undefined {
  if (error.name !== 'SessionProcessExitError') return undefined;
  const signal = (error as { signal?: unknown }).signal;
  return signal === 'SIGKILL'
    ? 'its onnxruntime process was killed (SIGKILL; most likely the system ran out of memory); use a smaller batch_size or picture size, or free memory'
    : 'its onnxruntime process stopped unexpectedly; try again, and use a smaller batch_size or picture size if it repeats';
}

/** Interrupts (an isolated run stopped: 'AbortError'; the engine's 'InterruptedError') must stay what they are. */
const isInterrupt = (error: Error) => error.name === 'AbortError' || error.name === 'InterruptedError';

/** The error to show for a failed run of `file` in `role`; interrupts and errors of our own pass through unchanged. */
export function runFailure(error: unknown, file: string, role: Role, feeds: Readonly<Record<string, Tensor>>): unknown {
  if (!(error instanceof Error) || error instanceof ModelRunError || isInterrupt(error)) return error;
  const raw = error.message;
  const exited = processExit(error);
  if (exited) return new ModelRunError(`The ${ROLE_LABELS[role] ?? role} ${basename(file)} stopped on inputs ${describeFeeds(feeds)}: ${exited} (details in the server log).`, raw);
  // Only onnxruntime's own text is rewritten; interrupts and our own errors already say what they mean.
  if (!ORT_TEXT.test(raw)) return error;
  return new ModelRunError(`The ${ROLE_LABELS[role] ?? role} ${basename(file)} failed on inputs ${describeFeeds(feeds)}: ${advice(raw)} (details in the server log).`, raw);
}

/**
 * The error to show when onnxruntime cannot create the session of `file` in `role` (its own text, e.g. "[ONNXRuntimeError]
 * : 1 : FAIL : Load model ... failed", or an allocation failure); other errors pass through unchanged.
 */
export function loadFailure(error: unknown, file: string, role: Role): unknown {
  if (!(error instanceof Error) || error instanceof ModelRunError || isInterrupt(error)) return error;
  const raw = error.message;
  const exited = processExit(error);
  const what = `onnxruntime could not open the ${ROLE_LABELS[role] ?? role} ${basename(file)}`;
  if (exited) return new ModelRunError(`${what}: ${exited.replace('use a smaller batch_size or picture size, or free memory', 'free memory or use a smaller file of this model')} (details in the server log).`, raw);
  if (!ORT_TEXT.test(raw)) return error;
  const why = /bad_alloc|allocat|out of memory|memory/i.test(raw)
    ? 'it ran out of memory while loading; free memory or use a smaller file of this model (e.g. an fp8 one)'
    : 'the file may be damaged or not what its name says; check it with `uso-studio models inspect`';
  return new ModelRunError(`${what}: ${why} (details in the server log).`, raw);
}
