import { describe, it, expect } from 'vitest';
import { Tensor, processLatentIn } from '@uso-studio/runtime';
import { ditVelocityModel } from './dit-runner.ts';
import { comfyReferenceIds } from './packing.ts';
import { modelDescriptor, withModel } from '../models/descriptors.ts';
import type { ModelService } from '../models/model-service.ts';

const d = (t: Tensor | undefined) => t!.data as Float32Array;

/** A service stand-in that records the feeds and answers velocity = img. */
function fakeService(config: unknown) {
  const feeds: Array<Record<string, Tensor>> = [];
  const service = {
    graph: async () => ({ config }),
    run: async (_req: unknown, f: Record<string, Tensor>) => {
      feeds.push(f);
      return { velocity: f.img };
    },
  } as unknown as ModelService;
  return { service, feeds };
}

describe('ditVelocityModel', () => {
  it('feeds ids, references, styles (last applied first), text, pooled, guidance and sigma per the dit contract', async () => {
    const { service, feeds } = fakeService({ hidden: 4 });
    const styleA = Tensor.float32([1, 2, 4], new Float32Array(8).fill(1));
    const styleB = Tensor.float32([1, 1, 4], new Float32Array(4).fill(2));
    const model = withModel(modelDescriptor('/m', 'm'), { styles: [styleB, styleA] });
    const ref = Tensor.float32([1, 16, 2, 4], Float32Array.from({ length: 128 }, (_, i) => i / 128));
    const v = await ditVelocityModel({
      service,
      model,
      shape: [2, 16, 4, 4],
      entry: {
        cond: Tensor.float32([1, 3, 5], new Float32Array(15).fill(0.5)),
        pooled_output: Tensor.float32([1, 6], new Float32Array(6).fill(0.25)),
        guidance: 2.5,
        reference_latents: [ref],
      },
      placeReferences: (t, r) => comfyReferenceIds(t, r, 'uxo'),
    });
    const x = Float32Array.from({ length: 2 * 16 * 16 }, (_, i) => i);
    const out = await v(x, 0.75);
    expect(Array.from(out)).toEqual(Array.from(x)); // pack -> identity graph -> unpack
    const f = feeds[0]!;
    expect(f.img!.shape).toEqual([2, 4, 64]);
    expect(f.img_ids!.shape).toEqual([2, 4, 3]);
    expect(Array.from(d(f.img_ids).subarray(9, 12))).toEqual([0, 1, 1]);
    expect(f.ref_img!.shape).toEqual([2, 2, 64]);
    expect(d(f.ref_img)[0]).toBeCloseTo(processLatentIn(ref.data)[0]!, 6);
    expect(Array.from(d(f.ref_img_ids).subarray(0, 3))).toEqual([0, 2, 2]); // uxo: after the 2x2-token target
    expect(f.style!.shape).toEqual([2, 3, 4]);
    expect(Array.from(d(f.style).subarray(0, 4))).toEqual([2, 2, 2, 2]); // styleB first
    expect(f.txt!.shape).toEqual([2, 3, 5]);
    expect(f.txt_ids!.shape).toEqual([2, 3, 3]);
    expect(Array.from(d(f.y))).toEqual(new Array(12).fill(0.25));
    expect(Array.from(d(f.guidance))).toEqual([2.5, 2.5]);
    expect(Array.from(d(f.timesteps))).toEqual([0.75, 0.75]);
  });

  it('sends empty reference and style inputs with the right widths, and applies a guidance override', async () => {
    const { service, feeds } = fakeService({ ctx: 16 });
    const v = await ditVelocityModel({
      service,
      model: modelDescriptor('/m', 'm'),
      shape: [1, 16, 2, 2],
      entry: { cond: Tensor.zeros([1, 1, 16]), pooled_output: Tensor.zeros([1, 6]) },
      guidance: 4,
      placeReferences: () => [],
    });
    await v(new Float32Array(64), 1);
    expect(feeds[0]!.ref_img!.shape).toEqual([1, 0, 64]);
    expect(feeds[0]!.style!.shape).toEqual([1, 0, 16]);
    expect(Array.from(d(feeds[0]!.guidance))).toEqual([4]);
  });
});

describe('ditVelocityModel on a batch in chunks', () => {
  /** velocity = img + per-item pooled value: shows each chunk gets its own items' inputs in order. */
  function itemService() {
    const runs: number[] = [];
    const service = {
      graph: async () => ({ ctx: 4 }),
      run: async (_req: unknown, f: Record<string, Tensor>) => {
        const b = f.img!.shape[0]!;
        runs.push(b);
        const img = d(f.img);
        const per = img.length / b;
        const out = new Float32Array(img.length);
        for (let i = 0; i < img.length; i++) out[i] = img[i]! + d(f.y)[Math.floor(i / per) * 2]!;
        expect(f.ref_img!.shape[0]).toBe(b);
        expect(f.txt!.shape[0]).toBe(b);
        return { velocity: Tensor.float32(f.img!.shape, out) };
      },
    } as unknown as ModelService;
    return { service, runs };
  }

  const entry = (b: number) => ({
    cond: Tensor.float32([b, 1, 4], new Float32Array(b * 4)),
    pooled_output: Tensor.float32([b, 2], Float32Array.from({ length: b * 2 }, (_, i) => 100 * Math.floor(i / 2))),
  });

  it('runs at most tokensPerRun tokens at a time and reassembles the batch in order', async () => {
    const { service, runs } = itemService();
    const b = 5;
    const v = await ditVelocityModel({ service, model: modelDescriptor('/m', 'm'), shape: [b, 16, 4, 4], entry: entry(b), placeReferences: () => [], tokensPerRun: 9, tokenSpace: true });
    const x = Float32Array.from({ length: b * 4 * 64 }, (_, i) => i);
    const out = await v(x, 0.5);
    expect(runs).toEqual([2, 2, 1]); // 4 tokens per item, 9 per run
    for (let i = 0; i < x.length; i++) if (out[i] !== x[i]! + 100 * Math.floor(i / 256)) throw new Error(`value ${i}: ${out[i]}`);
  });

  it('stops between chunks once the signal aborts', async () => {
    const { service, runs } = itemService();
    const controller = new AbortController();
    const b = 4;
    const v = await ditVelocityModel({
      service: { ...service, run: async (...a: Parameters<ModelService['run']>) => { controller.abort(new Error('interrupted')); return service.run(...a); } } as unknown as ModelService,
      model: modelDescriptor('/m', 'm'),
      shape: [b, 16, 4, 4],
      entry: entry(b),
      placeReferences: () => [],
      tokensPerRun: 4,
      tokenSpace: true,
      signal: controller.signal,
    });
    await expect(v(new Float32Array(b * 4 * 64), 0.5)).rejects.toThrow('interrupted');
    expect(runs).toEqual([1]);
  });
});
