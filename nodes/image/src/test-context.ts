/**
 * Test helper: a throwaway host folder layout and the minimal ExecutionContext a node's `execute` needs.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext, HostEnvironment } from '@uso-studio/core';

/** Fresh input/output/temp/models folders under one temp root; call `cleanup` when done. */
export function makeTempEnv(): HostEnvironment & { root: string; cleanup(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'uso-image-'));
  const dir = (name: string) => {
    const p = path.join(root, name);
    fs.mkdirSync(p);
    return p;
  };
  return {
    root,
    inputDir: dir('input'),
    outputDir: dir('output'),
    tempDir: dir('temp'),
    modelsDir: dir('models'),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** An ExecutionContext whose logger and preview do nothing. */
export function fakeContext(env: HostEnvironment): ExecutionContext {
  const quiet = () => {};
  return {
    nodeId: '1',
    displayNodeId: '1',
    promptId: 'test-prompt',
    prompt: {},
    extraData: {},
    env,
    signal: new AbortController().signal,
    log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    progress: quiet,
    previewWanted: () => false,
    preview: quiet,
  };
}
