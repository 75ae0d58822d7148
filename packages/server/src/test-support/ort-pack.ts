/**
 * A server test pack whose nodes keep the engine worker inside onnxruntime for a while, through a real SessionPool
 * exposed as a service's `pool`, like nodes/comfy's ModelService: SrvOrtMatMul inside run() (a chain of MatMuls on one
 * thread), SrvOrtSlowLoad inside session creation (a graph of many small nodes). Each blocking onnxruntime call's start
 * and end go to `srv-ort-runs.jsonl` in the temp folder, so a test can tell when the worker really was inside
 * onnxruntime. Kept apart from test-pack.ts so other tests do not load the runtime.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineNode } from '@uso-studio/core';
import type { NodePack } from '@uso-studio/core';
import { GraphBuilder, SessionPool, Tensor } from '@uso-studio/runtime';
import type { NativeCall } from '@uso-studio/runtime';

/** The file (in the env's temp folder) recording each call as `{"event":"start"|"end","call":"create"|"run"|"release","at":<Date.now()>}`. */
export const ORT_RUN_LOG = 'srv-ort-runs.jsonl';

interface OrtService {
  pool: SessionPool;
}

/** Saves y = sum(x · W^depth) with W = 1/size everywhere (so values stay bounded) and returns its path. */
function matMulChain(dir: string, size: number, depth: number): string {
  const path = join(dir, `srv-matmul-${size}-${depth}.onnx`);
  if (existsSync(path)) return path;
  const g = new GraphBuilder({ name: 'srv-matmul-chain' });
  const x = g.input('x', 'float32', [size, size]);
  const w = g.constFloat(new Float32Array(size * size).fill(1 / size), [size, size], 'w'); // [size, size]
  let m = x;
  for (let i = 0; i < depth; i++) m = g.matMul(m, w, `mm${i}`); // [size, size]
  g.output(g.reduceSum(m, [0, 1], false, 'total'), 'total', 'float32', []);
  g.save(path);
  return path;
}

/** Saves total = sum(x · W^depth) for x of [rows, 512] (rows free) with W = 1/512 everywhere; returns its path. */
function rowsChain(dir: string, depth: number): string {
  const path = join(dir, `srv-rows-chain-${depth}.onnx`);
  if (existsSync(path)) return path;
  const g = new GraphBuilder({ name: 'srv-rows-chain' });
  const x = g.input('x', 'float32', ['rows', 512]);
  const w = g.constFloat(new Float32Array(512 * 512).fill(1 / 512), [512, 512], 'w'); // [512, 512]
  let m = x;
  for (let i = 0; i < depth; i++) m = g.matMul(m, w, `mm${i}`); // [rows, 512]
  g.output(g.reduceSum(m, [0, 1], false, 'total'), 'total', 'float32', []);
  g.save(path);
  return path;
}

/** Saves y = sin(sin(...sin(x))) with `nodes` Sin nodes: tiny, but session creation takes ~35 ms per 1000 nodes. */
function sinChain(dir: string, nodes: number): string {
  const path = join(dir, `srv-sin-${nodes}.onnx`);
  if (existsSync(path)) return path;
  const g = new GraphBuilder({ name: 'srv-sin-chain' });
  let m = g.input('x', 'float32', [4]);
  for (let i = 0; i < nodes; i++) m = g.sin(m, `sin${i}`); // [4]
  g.output(m, 'y', 'float32', [4]);
  g.save(path);
  return path;
}

export const pack: NodePack = {
  name: 'server-test-ort',
  createServices(env) {
    const pool = new SessionPool({ defaults: { intraOpNumThreads: 1 } });
    const log = join(env.tempDir, ORT_RUN_LOG);
    const record = (event: 'start' | 'end', call: NativeCall) => appendFileSync(log, `${JSON.stringify({ event, call, at: Date.now() })}\n`);
    pool.onNativeStart = (call) => record('start', call);
    pool.onNativeEnd = (call) => record('end', call);
    const service: OrtService = { pool };
    return { services: { srvOrt: service }, dispose: () => pool.close(), unloadModels: () => pool.releaseAll() };
  },
  nodes: [
    defineNode({
      name: 'SrvOrtMatMul',
      category: 'testing',
      description: 'Runs `depth` chained [size, size] MatMuls in one onnxruntime run (about 2.4 ms each at 512, one thread).',
      inputs: { required: { size: { type: 'INT', default: 512, min: 1, max: 4096 }, depth: { type: 'INT', default: 600, min: 1, max: 10_000 } } },
      outputs: [{ type: 'FLOAT' }],
      outputNode: true,
      notIdempotent: true,
      async execute({ size, depth }, ctx) {
        const n = Number(size);
        const { pool } = ctx.env.services?.['srvOrt'] as OrtService;
        const session = await pool.acquire(matMulChain(ctx.env.tempDir, n, Number(depth)));
        ctx.progress(0, 1);
        const { total } = await pool.run(session, { x: Tensor.float32([n, n], new Float32Array(n * n).fill(1)) });
        ctx.progress(1, 1);
        const value = (total!.data as Float32Array)[0]!;
        return { outputs: [value], ui: { total: [value] } };
      },
    }),
    defineNode({
      name: 'SrvOrtIsolatedMatMul',
      category: 'testing',
      description:
        'One onnxruntime run of `depth` chained [rows, 512] x [512, 512] MatMuls in an isolated session (its own process, ' +
        'so an interrupt stops it inside the run): about 2.4 ms per MatMul per 512 rows on one thread. Records ' +
        '`isolated-run-start`, then `isolated-run-end` or `isolated-run-rejected` (with the error name) in the run log.',
      inputs: { required: { rows: { type: 'INT', default: 512, min: 1, max: 65_536 }, depth: { type: 'INT', default: 400, min: 1, max: 10_000 } } },
      outputs: [{ type: 'FLOAT' }],
      outputNode: true,
      notIdempotent: true,
      async execute({ rows, depth }, ctx) {
        const n = Number(rows);
        const { pool } = ctx.env.services?.['srvOrt'] as OrtService;
        const session = await pool.acquire(rowsChain(ctx.env.tempDir, Number(depth)), { isolate: true });
        const log = join(ctx.env.tempDir, ORT_RUN_LOG);
        const note = (event: string, extra: object = {}) => appendFileSync(log, `${JSON.stringify({ event, rows: n, at: Date.now(), ...extra })}\n`);
        ctx.progress(0, 1);
        note('isolated-run-start');
        let total: number;
        try {
          total = ((await pool.run(session, { x: Tensor.float32([n, 512], new Float32Array(n * 512).fill(1)) })).total!.data as Float32Array)[0]!;
        } catch (error) {
          note('isolated-run-rejected', { name: (error as Error).name });
          throw error;
        }
        note('isolated-run-end');
        ctx.progress(1, 1);
        return { outputs: [total], ui: { total: [total] } };
      },
    }),
    defineNode({
      name: 'SrvOrtSlowLoad',
      category: 'testing',
      description: 'Creates (and runs once) a session of `nodes` chained Sin nodes: about 0.7 s of session creation at 20000.',
      inputs: { required: { nodes: { type: 'INT', default: 20_000, min: 1, max: 200_000 } } },
      outputs: [{ type: 'FLOAT' }],
      outputNode: true,
      notIdempotent: true,
      async execute({ nodes }, ctx) {
        const { pool } = ctx.env.services?.['srvOrt'] as OrtService;
        const path = sinChain(ctx.env.tempDir, Number(nodes));
        ctx.progress(0, 1);
        const session = await pool.acquire(path);
        const { y } = await pool.run(session, { x: Tensor.float32([4], new Float32Array(4)) });
        const value = (y!.data as Float32Array)[0]!;
        return { outputs: [value], ui: { y: [value] } };
      },
    }),
  ],
};
