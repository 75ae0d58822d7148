/**
 * Messages between an IsolatedSession (parent) and its child process (isolated-session-host.ts). Tensors travel as
 * plain `{dtype, shape, data}` records: the IPC channel uses Node's 'advanced' serialization, which copies typed
 * arrays (BigInt64Array included) without a JSON detour.
 */
import type { DType, DTypeArrays } from '../tensor/tensor.ts';
import type { ModelRef, Provider, SessionOptions } from './session-pool.ts';

export interface WireTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: DTypeArrays[DType];
}

export type ToHost =
  | { readonly id: number; readonly type: 'open'; readonly model: ModelRef; readonly options: SessionOptions }
  | { readonly id: number; readonly type: 'run'; readonly feeds: Readonly<Record<string, WireTensor>>; readonly outputs?: readonly string[] }
  | { readonly id: number; readonly type: 'release' };

export interface OpenedSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly provider: Provider;
  readonly fallbackReason?: string;
}

export type FromHost =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: { readonly name: string; readonly message: string } }
  | { readonly type: 'log'; readonly line: string };
