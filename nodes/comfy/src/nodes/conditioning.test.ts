import { describe, it, expect, afterAll } from 'vitest';
import { Tensor } from '@uso-studio/runtime';
import { NodeRegistry } from '@uso-studio/core';
import { capturingEngine, makeTestHost, recordingContext, testWeights, TEST, TEST_WORDS } from '../test-support.ts';
import { pack } from '../index.ts';
import { checkpointLoaderSimple } from './loaders.ts';
import {
  clipTextEncode,
  conditioningZeroOut,
  fluxGuidance,
  fluxKontextMultiReferenceLatentMethod,
  referenceLatent,
} from './conditioning.ts';
import type { ConditioningEntry } from '../flux/conditioning.ts';
import { parsePromptWeights } from '../text/prompt-weights.ts';

const host = makeTestHost();
afterAll(() => host.cleanup());
const ctx = () => recordingContext(host.env);
const wordId = (w: string) => TEST_WORDS.indexOf(w as (typeof TEST_WORDS)[number]) + 3;
const t5Row = (id: number) => (testWeights().t5['shared.weight']!.data as Float32Array).subarray(id * TEST.ctx, (id + 1) * TEST.ctx);

async function clip() {
  return (await checkpointLoaderSimple.execute({ ckpt_name: 'test-checkpoint.safetensors' }, ctx())).outputs![1];
}

describe('prompt weights', () => {
  it('parse like ComfyUI', () => {
    expect(parsePromptWeights('a (red:1.5) cat')).toEqual([['a ', 1], ['red', 1.5], [' cat', 1]]);
    expect(parsePromptWeights('((dog))')).toEqual([['dog', 1.1 * 1.1]]);
    expect(parsePromptWeights('(a:b) \\(x\\)')).toEqual([['a:b', 1.1], [' (x)', 1]]);
    expect(parsePromptWeights('')).toEqual([]);
  });
});

describe('CLIPTextEncode', () => {
  it('gives T5 tokens + EOS padded to 256 and the pooled first CLIP chunk', async () => {
    const [[entry]] = (await clipTextEncode.execute({ text: 'A red cat', clip: await clip() }, ctx())).outputs! as [[ConditioningEntry]];
    expect(entry.cond.shape).toEqual([1, 256, TEST.ctx]);
    const z = entry.cond.data;
    const ids = [wordId('a'), wordId('red'), wordId('cat'), 1, 0];
    ids.forEach((id, j) => expect(Array.from(z.subarray(j * TEST.ctx, (j + 1) * TEST.ctx))).toEqual(Array.from(t5Row(id))));
    expect(Array.from(z.subarray(255 * TEST.ctx, 256 * TEST.ctx))).toEqual(Array.from(t5Row(0)));
    // Pooled: mean of the 77 CLIP embeddings [61, a, red, cat, 62 x 74].
    const emb = testWeights().clip['token_embedding.weight']!.data as Float32Array;
    const chunk = [61, wordId('a'), wordId('red'), wordId('cat'), ...new Array(73).fill(62)];
    for (let k = 0; k < TEST.vec; k++) {
      const mean = chunk.reduce((s, id) => s + emb[id * TEST.vec + k]!, 0) / 77;
      expect(entry.pooled_output!.data[k]).toBeCloseTo(mean, 5);
    }
  });

  it('applies (text:w) as z = (z - z_empty) * w + z_empty', async () => {
    const [[entry]] = (await clipTextEncode.execute({ text: 'a (red:1.5) cat', clip: await clip() }, ctx())).outputs! as [[ConditioningEntry]];
    const z = entry.cond.data;
    // The empty sequence is [EOS, pad, ...]: position 1 compares against pad's embedding.
    const red = t5Row(wordId('red'));
    const pad = t5Row(0);
    for (let k = 0; k < TEST.ctx; k++) expect(z[TEST.ctx + k]).toBeCloseTo((red[k]! - pad[k]!) * 1.5 + pad[k]!, 5);
    expect(Array.from(z.subarray(0, TEST.ctx))).toEqual(Array.from(t5Row(wordId('a'))));
  });

  it('fails clearly when the CLIP input is missing', async () => {
    await expect(clipTextEncode.execute({ text: 'x', clip: null }, ctx())).rejects.toThrow(/clip input is invalid/);
  });
});

describe('conditioning nodes', () => {
  const base: ConditioningEntry[] = [{ cond: Tensor.float32([1, 2, 2], new Float32Array([1, 2, 3, 4])), pooled_output: Tensor.float32([1, 2], new Float32Array([5, 6])) }];

  it('ConditioningZeroOut zeroes cond and pooled and keeps the rest', async () => {
    const input = [{ ...base[0]!, guidance: 2, reference_latents: [Tensor.zeros([1, 16, 2, 2])] }];
    const [[out]] = (await conditioningZeroOut.execute({ conditioning: input }, ctx())).outputs as [[ConditioningEntry]];
    expect(Array.from(out.cond.data)).toEqual([0, 0, 0, 0]);
    expect(Array.from(out.pooled_output!.data)).toEqual([0, 0]);
    expect(out.guidance).toBe(2);
    expect(out.reference_latents).toHaveLength(1);
    expect(Array.from(input[0]!.cond.data)).toEqual([1, 2, 3, 4]);
  });

  it('FluxGuidance, ReferenceLatent and the method node set their keys on new entries', async () => {
    const [[g]] = (await fluxGuidance.execute({ conditioning: base, guidance: 4 }, ctx())).outputs as [[ConditioningEntry]];
    expect(g.guidance).toBe(4);
    expect(base[0]!.guidance).toBeUndefined();
    const a = Tensor.zeros([1, 16, 4, 4]);
    const b = Tensor.zeros([1, 16, 2, 2]);
    const [once] = (await referenceLatent.execute({ conditioning: base, latent: { samples: a } }, ctx())).outputs as [ConditioningEntry[]];
    const [twice] = (await referenceLatent.execute({ conditioning: once, latent: { samples: b } }, ctx())).outputs as [ConditioningEntry[]];
    expect(twice[0]!.reference_latents).toEqual([a, b]);
    expect(once[0]!.reference_latents).toEqual([a]);
    expect(((await referenceLatent.execute({ conditioning: base }, ctx())).outputs as unknown[])[0]).toBe(base);
    const method = async (v: string) => ((await fluxKontextMultiReferenceLatentMethod.execute({ conditioning: base, reference_latents_method: v }, ctx())).outputs as [ConditioningEntry[]])[0][0]!.reference_latents_method;
    expect(await Promise.all([method('offset'), method('index'), method('uxo/uno'), method('uso')])).toEqual(['offset', 'index', 'uxo', 'uxo']);
  });
});

describe('CLIPTextEncodeFlux in a workflow', () => {
  it('encodes t5xxl with T5-XXL and clip_l with CLIP-L, and sets the guidance', async () => {
    const engine = capturingEngine(host.env, pack.nodes);
    const run = await engine.run({
      '1': { class_type: 'DualCLIPLoader', inputs: { clip_name1: 'test-t5xxl.safetensors', clip_name2: 'test-clip_l.safetensors', type: 'flux' } },
      '2': { class_type: 'CLIPTextEncodeFlux', inputs: { clip: ['1', 0], clip_l: 'a blue dog', t5xxl: 'a red cat on the grass', guidance: 2.5 } },
      '3': { class_type: 'CLIPTextEncode', inputs: { text: 'a red cat on the grass', clip: ['1', 0] } },
      '4': { class_type: 'CLIPTextEncode', inputs: { text: 'a blue dog', clip: ['1', 0] } },
      '90': { class_type: 'TestCapture', inputs: { value: ['2', 0] } },
      '91': { class_type: 'TestCapture', inputs: { value: ['3', 0] } },
      '92': { class_type: 'TestCapture', inputs: { value: ['4', 0] } },
    });
    const [flux] = run.values.get('90') as ConditioningEntry[];
    const [t5Text] = run.values.get('91') as ConditioningEntry[];
    const [clipText] = run.values.get('92') as ConditioningEntry[];
    expect(flux!.guidance).toBe(2.5);
    expect(Array.from(flux!.cond.data)).toEqual(Array.from(t5Text!.cond.data));
    expect(Array.from(flux!.pooled_output!.data)).toEqual(Array.from(clipText!.pooled_output!.data));
    expect(Array.from(flux!.pooled_output!.data)).not.toEqual(Array.from(t5Text!.pooled_output!.data));
  });

  it("has ComfyUI's v3 schema: clip, clip_l, t5xxl (multiline, dynamic prompts), guidance 3.5", () => {
    const info = new NodeRegistry(pack.nodes).objectInfo(host.env).CLIPTextEncodeFlux!;
    expect(info.input_order.required).toEqual(['clip', 'clip_l', 't5xxl', 'guidance']);
    expect(info.input.required.t5xxl![1]).toMatchObject({ multiline: true, dynamicPrompts: true });
    expect(info.input.required.guidance![1]).toMatchObject({ default: 3.5, min: 0, max: 100, step: 0.1 });
    expect(info.category).toBe('advanced/conditioning/flux');
  });
});
