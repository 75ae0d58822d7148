/**
 * Test nodes for remote workers: a sleep that needs a model file (routing, refusal, cache affinity) and records each
 * run that reaches its end (so a test can count completions across worker processes), and a node that copies an
 * input image to an output (input and output transfer).
 */
import { copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InterruptedError, defineNode } from '@uso-studio/core';
import type { NodePack } from '@uso-studio/core';
import { wait } from './wait.ts';

/** Checkpoints this engine thread has "loaded". */
const loaded = new Set<string>();

const filesIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith('.')).sort() : []);

export const pack: NodePack = {
  name: 'remote-test-support',
  nodes: [
    defineNode({
      name: 'RemoteModelSleep',
      category: 'testing',
      description: 'Sleeps `ms` in `steps` progress steps with a checkpoint selected; writes a marker file when it completes.',
      inputs: {
        required: {
          ckpt_name: { type: 'COMBO', options: (env) => filesIn(join(env.modelsDir, 'checkpoints')), modelFolder: 'checkpoints' },
          ms: { type: 'INT', default: 100, min: 0, max: 600_000 },
          steps: { type: 'INT', default: 5, min: 1, max: 100_000 },
          marker_dir: { type: 'STRING', default: '' },
        },
        // Stands in for loading the model: paid once per engine thread and checkpoint (routing benchmark).
        optional: { load_ms: { type: 'INT', default: 0, min: 0, max: 600_000 } },
      },
      outputs: [],
      outputNode: true,
      notIdempotent: true,
      async execute({ ckpt_name, ms, steps, marker_dir, load_ms }, ctx) {
        const cold = !loaded.has(String(ckpt_name));
        if (cold && load_ms) await wait(Number(load_ms), ctx.signal);
        loaded.add(String(ckpt_name));
        const n = Number(steps);
        for (let i = 1; i <= n; i++) {
          await wait(Number(ms) / n, ctx.signal);
          if (ctx.signal.aborted) throw new InterruptedError();
          ctx.progress(i, n);
        }
        if (marker_dir) writeFileSync(join(String(marker_dir), `${ctx.promptId}.${process.pid}.${Date.now()}`), '');
        return { ui: { pid: [process.pid], cold: [cold] } };
      },
    }),
    defineNode({
      name: 'RemoteCopyInput',
      category: 'testing',
      inputs: { required: { image: { type: 'COMBO', options: (env) => filesIn(env.inputDir), image_upload: true } } },
      outputs: [],
      outputNode: true,
      notIdempotent: true,
      execute({ image }, ctx) {
        const filename = `copy_${String(image)}`;
        copyFileSync(join(ctx.env.inputDir, String(image)), join(ctx.env.outputDir, filename));
        return { ui: { images: [{ filename, subfolder: '', type: 'output' }], pid: [process.pid] } };
      },
    }),
  ],
};
