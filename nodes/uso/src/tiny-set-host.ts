/**
 * Test support for the parity tests on the tiny real-architecture set: a models folder with the tiny set, one model
 * service over it (one thread, so results do not depend on the machine), a host environment, and a helper that runs
 * a node and returns its first output. Registers its own beforeAll/afterAll. Not exported from the pack.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { HostEnvironment } from '@uso-studio/core';
import { defaultArchitectures, generateTinyModels } from '@uso-studio/runtime';
import { createModelService, MODEL_SERVICE_KEY, type ModelService } from '@uso-studio/nodes-comfy';
import { recordingContext } from '@uso-studio/nodes-comfy/test-support';

type Executable = { execute: (inputs: never, context: never) => unknown };

export interface TinySetHost {
  /** The host environment (valid once the suite's beforeAll has run). */
  env(): HostEnvironment;
  /** Runs `node` on `inputs` and gives its first output. */
  output<T>(node: Executable, inputs: Record<string, unknown>, context?: ReturnType<typeof recordingContext>): Promise<T>;
}

export function tinySetHost(tempPrefix: string): TinySetHost {
  let root: string;
  let env: HostEnvironment;
  let service: ModelService;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), tempPrefix));
    const modelsDir = path.join(root, 'models');
    generateTinyModels(modelsDir);
    service = createModelService({ modelsDir, cacheDir: path.join(root, 'cache'), registry: defaultArchitectures(), threads: 1 });
    env = { inputDir: root, outputDir: root, tempDir: root, modelsDir, services: { [MODEL_SERVICE_KEY]: service } };
  });
  afterAll(async () => {
    await service.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  return {
    env: () => env,
    async output<T>(node: Executable, inputs: Record<string, unknown>, context = recordingContext(env)): Promise<T> {
      const result = await (node.execute as (i: unknown, c: unknown) => Promise<{ outputs: unknown[] }>)(inputs, context);
      return result.outputs[0] as T;
    },
  };
}
