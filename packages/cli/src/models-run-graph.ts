/**
 * `uso-studio models run-graph --role ROLE --inputs IN.safetensors --out OUT.safetensors [--lora FILE:STRENGTH]...
 * WEIGHTS`: runs one role's graph through the same model service the nodes use (detection, config, LoRA mapping,
 * graph cache, session pool) on inputs named by the role's contract, and writes every output, so anyone can compare
 * our numbers with another implementation.
 */
import { realpathSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import {
  CONTRACTS,
  ROLES,
  Tensor,
  float16ArrayToFloat32,
  readSafetensorsHeader,
  readTensorBytes,
  readTensorFloat32,
  writeSafetensors,
  type Role,
  type SafetensorsHeader,
  type SafetensorsTensorInput,
  type TensorSpec,
} from '@uso-studio/runtime';
import { createModelService, type LoraApplication } from '@uso-studio/nodes-comfy';

export interface RunGraphOptions {
  readonly role: string;
  readonly inputs: string;
  readonly out: string;
  /** `FILE:STRENGTH` entries (strength defaults to 1). */
  readonly lora?: readonly string[];
  /** The models folder of the data directory (the model service's home) and where built graphs are cached. */
  readonly modelsDir: string;
  readonly cacheDir: string;
}

function parseRole(text: string): Role {
  if ((ROLES as readonly string[]).includes(text)) return text as Role;
  throw new Error(`--role must be one of ${ROLES.join(', ')}, got '${text}'`);
}

/** `path/to/lora.safetensors:0.8` -> a LoRA application; the strength is after the last colon when it is a number. */
export function parseLora(spec: string): LoraApplication {
  const colon = spec.lastIndexOf(':');
  const tail = colon > 0 ? spec.slice(colon + 1) : '';
  const strength = tail !== '' && Number.isFinite(Number(tail)) ? Number(tail) : undefined;
  const file = strength === undefined ? spec : spec.slice(0, colon);
  return { file: realpathSync(resolve(file)), name: basename(file), strength: strength ?? 1 };
}

/** One contract input from the inputs file, converted to the contract's dtype. */
function readInput(header: SafetensorsHeader, spec: TensorSpec): Tensor {
  const info = header.tensors.get(spec.name)!;
  if (info.shape.length !== spec.dims.length) {
    throw new Error(`${header.path}: '${spec.name}' has shape [${info.shape.join(', ')}], the contract wants [${spec.dims.join(', ')}]`);
  }
  if (spec.dtype === 'int64') {
    const bytes = readTensorBytes(header, spec.name);
    const copy = new Uint8Array(bytes); // aligned
    if (info.dtype === 'I64') return new Tensor('int64', info.shape, new BigInt64Array(copy.buffer));
    if (info.dtype === 'I32') return new Tensor('int64', info.shape, BigInt64Array.from(new Int32Array(copy.buffer), (v) => BigInt(v)));
    throw new Error(`${header.path}: '${spec.name}' is ${info.dtype}; the contract wants integer ids (I64 or I32)`);
  }
  if (info.dtype === 'F16') {
    const bytes = new Uint8Array(readTensorBytes(header, spec.name));
    return Tensor.float32(info.shape, float16ArrayToFloat32(new Uint16Array(bytes.buffer)));
  }
  return Tensor.float32(info.shape, readTensorFloat32(header, spec.name));
}

/** The output tensor in safetensors form. */
function toSafetensors(tensor: Tensor): SafetensorsTensorInput {
  switch (tensor.dtype) {
    case 'float32':
      return { dtype: 'F32', shape: tensor.shape, data: tensor.data as Float32Array };
    case 'int64':
      return { dtype: 'I64', shape: tensor.shape, data: tensor.data as BigInt64Array };
    case 'float16':
      return { dtype: 'F16', shape: tensor.shape, data: tensor.data as Uint16Array };
    case 'int32':
      return { dtype: 'I32', shape: tensor.shape, data: tensor.data as Int32Array };
    case 'uint8':
      return { dtype: 'U8', shape: tensor.shape, data: tensor.data as Uint8Array };
  }
}

/**
 * Runs the graph and writes its outputs; returns a line per output (name and shape) for the user.
 *
 * @example
 * await runGraphCommand(['models/clip_vision/sigclip_vision_patch14_384.safetensors'], { role: 'vision_encoder', inputs: 'px.safetensors', out: 'vision.safetensors', modelsDir, cacheDir });
 */
export async function runGraphCommand(weights: readonly string[], options: RunGraphOptions): Promise<string[]> {
  const role = parseRole(options.role);
  if (weights.length !== 1) throw new Error(`run-graph takes one weight file, got ${weights.length}: ${weights.join(' ')}`);
  const file = realpathSync(resolve(weights[0]!));
  const loras = (options.lora ?? []).map(parseLora);
  const contract = CONTRACTS[role];
  const header = readSafetensorsHeader(resolve(options.inputs));
  const missing = contract.inputs.filter((s) => !header.tensors.has(s.name)).map((s) => s.name);
  const extra = [...header.tensors.keys()].filter((n) => !contract.inputs.some((s) => s.name === n));
  if (missing.length > 0 || extra.length > 0) {
    const expected = contract.inputs.map((s) => `${s.name} [${s.dims.join(', ')}]`).join(', ');
    throw new Error(
      `${header.path}: the ${role} graph takes ${expected}` +
        (missing.length ? `; missing: ${missing.join(', ')} (an unused token input is a tensor with a 0-length token axis)` : '') +
        (extra.length ? `; not inputs of this role: ${extra.join(', ')}` : ''),
    );
  }
  // One run, nothing to interrupt: the session stays in this process.
  const service = createModelService({ modelsDir: options.modelsDir, cacheDir: options.cacheDir, isolateRunsAboveBytes: Number.POSITIVE_INFINITY, log: (line) => process.stderr.write(`${line}\n`) });
  try {
    const request = { file, role, loras };
    const graph = await service.graph(request);
    const feeds: Record<string, Tensor> = {};
    for (const spec of contract.inputs) feeds[spec.name] = readInput(header, spec);
    const size = (graph.config as { imageSize?: number } | null)?.imageSize;
    const px = feeds.pixel_values;
    if (role === 'vision_encoder' && typeof size === 'number' && px && (px.shape[2] !== size || px.shape[3] !== size)) {
      throw new Error(`${file}: this ${graph.architecture} takes ${size}x${size} pixels (from its position embeddings), got pixel_values [${px.shape.join(', ')}]`);
    }
    const outputs = await service.run(request, feeds);
    const tensors: Record<string, SafetensorsTensorInput> = {};
    for (const spec of contract.outputs) {
      const t = outputs[spec.name];
      if (t) tensors[spec.name] = toSafetensors(t);
    }
    writeSafetensors(resolve(options.out), tensors, {
      role,
      architecture: graph.architecture,
      weights: file,
      ...(loras.length ? { loras: JSON.stringify(loras.map((l) => [l.file, l.strength])) } : {}),
    });
    const lines = Object.entries(tensors).map(([name, t]) => `${name} [${t.shape.join(', ')}]`);
    for (const f of graph.lora?.files ?? []) {
      lines.push(`lora ${f.name}: ${f.patched} weight(s) patched${f.unmatched.length ? `, ${f.unmatched.length} key(s) matched nothing` : ''}`);
    }
    return lines;
  } finally {
    await service.close();
  }
}
