/**
 * Server-only test nodes: blocking and awaiting sleeps with progress, previews, file outputs, errors, a worker crash
 * and a progress timer for the benchmarks. Loaded through `extraPacks`, never by default.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineNode } from '@uso-studio/core';
import type { NodePack } from '@uso-studio/core';
import { wait } from './wait.ts';

/** A valid 1x1 RGBA PNG. */
export const ONE_PIXEL_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Blocks this thread like a synchronous inference call would. */
function block(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

const now = () => performance.timeOrigin + performance.now();

/** A stand-in for the runtime's SessionPool: reports the providers that SrvUseProvider "opened". */
class FakeProviders {
  readonly used: string[] = [];
  providersInUse(): { actual: string }[] {
    return this.used.map((actual) => ({ actual }));
  }
}

export const pack: NodePack = {
  name: 'server-test-support',
  createServices: () => ({ services: { srvProviders: new FakeProviders() }, dispose: () => {} }),
  nodes: [
    defineNode({
      name: 'SrvUseProvider',
      category: 'testing',
      inputs: { required: { provider: { type: 'STRING', default: 'cuda' } } },
      outputs: [],
      outputNode: true,
      notIdempotent: true,
      execute({ provider }, ctx) {
        (ctx.env.services?.['srvProviders'] as FakeProviders).used.push(String(provider));
        return { ui: { provider: [String(provider)] } };
      },
    }),
    defineNode({
      name: 'SrvAdd',
      category: 'testing',
      inputs: { required: { b: { type: 'INT', default: 1, min: -1e9, max: 1e9 } }, optional: { a: { type: 'INT', forceInput: true } } },
      outputs: [{ type: 'INT' }],
      execute: ({ a, b }) => ({ outputs: [Number(a ?? 0) + Number(b)] }),
    }),
    defineNode({
      name: 'SrvSleep',
      category: 'testing',
      description: 'Sleeps `ms` in `steps` progress steps; `block` keeps the thread busy as inference does.',
      inputs: {
        required: {
          ms: { type: 'INT', default: 100, min: 0, max: 600_000 },
          steps: { type: 'INT', default: 10, min: 1, max: 100_000 },
          mode: { type: 'COMBO', options: ['async', 'block'], default: 'async' },
        },
        optional: { value: { type: 'INT', forceInput: true } },
      },
      outputs: [{ type: 'INT' }],
      outputNode: true,
      notIdempotent: true,
      async execute({ ms, steps, mode, value }, ctx) {
        const n = Number(steps);
        const per = Number(ms) / n;
        for (let i = 1; i <= n; i++) {
          if (mode === 'block') block(per);
          else await wait(per, ctx.signal);
          ctx.progress(i, n);
        }
        return { outputs: [Number(value ?? 0)], ui: { slept: [Number(ms)] } };
      },
    }),
    defineNode({
      name: 'SrvSaveImage',
      category: 'testing',
      inputs: { required: { filename_prefix: { type: 'STRING', default: 'test' } }, optional: { value: { type: 'INT', forceInput: true } } },
      outputs: [],
      outputNode: true,
      notIdempotent: true,
      execute({ filename_prefix }, ctx) {
        const filename = `${String(filename_prefix)}_${ctx.promptId.slice(0, 8)}_${ctx.nodeId}.png`;
        writeFileSync(join(ctx.env.outputDir, filename), ONE_PIXEL_PNG);
        return { ui: { images: [{ filename, subfolder: '', type: 'output' }] } };
      },
    }),
    defineNode({
      name: 'SrvPreview',
      category: 'testing',
      inputs: { required: { count: { type: 'INT', default: 1, min: 1, max: 100 } } },
      outputs: [],
      outputNode: true,
      notIdempotent: true,
      execute({ count }, ctx) {
        for (let i = 0; i < Number(count); i++) ctx.preview({ format: 'PNG', bytes: new Uint8Array(ONE_PIXEL_PNG) });
        return { ui: { previews: [Number(count)] } };
      },
    }),
    defineNode({
      name: 'SrvShow',
      category: 'testing',
      description: 'An idempotent output node: a second identical prompt is served wholly from the cache.',
      inputs: { required: { value: { type: 'INT', forceInput: true } } },
      outputs: [],
      outputNode: true,
      execute: ({ value }) => ({ ui: { value: [Number(value)] } }),
    }),
    defineNode({
      name: 'SrvStepPreview',
      category: 'testing',
      description: 'Previews only when the host wants previews (as a sampler does), and reports whether it did.',
      inputs: { required: { seed: { type: 'INT', default: 0, min: 0, max: 1e9 } } },
      outputs: [],
      outputNode: true,
      notIdempotent: true,
      execute(_inputs, ctx) {
        const wanted = ctx.previewWanted();
        if (wanted) ctx.preview({ format: 'PNG', bytes: new Uint8Array(ONE_PIXEL_PNG) });
        return { ui: { wanted: [wanted] } };
      },
    }),
    defineNode({
      name: 'SrvError',
      category: 'testing',
      inputs: { required: { message: { type: 'STRING', default: 'planned failure' } } },
      outputs: [],
      outputNode: true,
      notIdempotent: true,
      execute({ message }) {
        throw new Error(String(message));
      },
    }),
    defineNode({
      name: 'SrvCrash',
      category: 'testing',
      description: 'Kills the engine worker with an uncaught exception, as a native crash would.',
      inputs: { required: {} },
      outputs: [],
      outputNode: true,
      notIdempotent: true,
      execute() {
        return new Promise(() => {
          setImmediate(() => {
            throw new Error('simulated worker crash');
          });
        });
      },
    }),
    defineNode({
      name: 'SrvProgressTimer',
      category: 'testing',
      description: 'Calls progress `steps` times, `stepMs` apart with the thread busy, and returns when each call was made.',
      inputs: { required: { steps: { type: 'INT', default: 100, min: 1, max: 100_000 }, stepMs: { type: 'INT', default: 2, min: 0, max: 1000 } } },
      outputs: [],
      outputNode: true,
      notIdempotent: true,
      execute({ steps, stepMs }, ctx) {
        const sent: number[] = [];
        const n = Number(steps);
        for (let i = 1; i <= n; i++) {
          block(Number(stepMs));
          sent.push(now());
          ctx.progress(i, n);
        }
        return { ui: { sent } };
      },
    }),
  ],
};
