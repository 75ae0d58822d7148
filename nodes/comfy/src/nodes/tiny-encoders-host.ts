/**
 * Test support for the loader tests on the tiny real architectures: a models folder holding only the tiny files
 * they load (T5-XXL and CLIP-L in F16, the DiT in BF16, USO's DiT LoRA; about 1.5 s instead of the whole tiny set's
 * 5 s), one model service over it (one thread) and the host environment. Registers its own beforeAll/afterAll.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { HostEnvironment } from '@uso-studio/core';
import { defaultArchitectures, tinyTensors, writeSafetensors, TINY_FILES } from '@uso-studio/runtime';
import { createModelService, MODEL_SERVICE_KEY, type ModelService } from '../models/model-service.ts';

export interface TinyEncodersHost {
  /** The host environment (valid once the suite's beforeAll has run). */
  env(): HostEnvironment;
  /** The models folder. */
  modelsDir(): string;
}

export function tinyEncodersHost(tempPrefix: string): TinyEncodersHost {
  let root: string;
  let env: HostEnvironment;
  let service: ModelService;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), tempPrefix));
    const modelsDir = path.join(root, 'models');
    const write = (rel: string, tensors: ReturnType<typeof tinyTensors>) => {
      fs.mkdirSync(path.dirname(path.join(modelsDir, rel)), { recursive: true });
      writeSafetensors(path.join(modelsDir, rel), tensors);
    };
    write(TINY_FILES.t5, tinyTensors('t5', 'F16'));
    write(TINY_FILES.clip, tinyTensors('clip', 'F16'));
    write(TINY_FILES.dit, tinyTensors('dit', 'BF16'));
    write(TINY_FILES.lora, tinyTensors('lora', 'BF16'));
    service = createModelService({ modelsDir, cacheDir: path.join(root, 'cache'), registry: defaultArchitectures(), threads: 1, log: () => {} });
    env = { inputDir: root, outputDir: root, tempDir: root, modelsDir, services: { [MODEL_SERVICE_KEY]: service } };
  });
  afterAll(async () => {
    await service?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });
  return { env: () => env, modelsDir: () => env.modelsDir };
}
