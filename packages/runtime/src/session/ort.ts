/**
 * Loads onnxruntime-node on first use. Importing the runtime package must not load the native addon: the server's
 * main thread imports tensors and schedules but must never run inference (a run blocks its thread).
 */

import type * as Ort from 'onnxruntime-node';

export type OrtModule = typeof Ort;

let loading: Promise<OrtModule> | undefined;

/** The onnxruntime-node module, imported once per thread. */
export function loadOrt(): Promise<OrtModule> {
  loading ??= import('onnxruntime-node');
  return loading;
}
