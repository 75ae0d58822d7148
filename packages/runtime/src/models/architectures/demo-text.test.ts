import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { SessionPool } from '../../session/session-pool.ts';
import { Tensor } from '../../tensor/tensor.ts';
import { randomCheckpoint } from '../random-weights.ts';
import { CONTRACTS, checkContract } from '../contract.ts';
import { demoMetadata } from '../demo/generate.ts';
import { demoClipTensors, demoT5Tensors } from '../demo/weights.ts';
import { DEMO_CLIP_TOKENIZER, DEMO_T5_TOKENIZER, demoVocabulary } from '../demo/tokenizer.ts';
import { clipRef, t5Ref } from './demo-reference.ts';
import { normalisedError, runGraph, tempDir, valuesOf, withPrefix, writeAndLoad } from './test-support.ts';

const pool = new SessionPool();
afterAll(() => pool.releaseAll());
const dir = tempDir('demo-text');

const ids64 = (ids: readonly number[]) => new Tensor('int64', [1, ids.length], BigInt64Array.from(ids, (v) => BigInt(v)));

describe('demo T5', () => {
  it('is a Gather of shared.weight (golden, random weights, checkpoint prefix)', async () => {
    const { tensors, values } = randomCheckpoint({ 'text_encoders.t5xxl.transformer.shared.weight': { shape: [30, 16] } });
    const graph = await writeAndLoad(dir, 't5-random', tensors, demoMetadata('uso-demo-flux-checkpoint'), 't5');
    expect(graph.architecture).toBe('uso-demo-t5');
    expect(graph.keyPrefix).toBe('text_encoders.t5xxl.transformer.');
    checkContract(readFileSync(graph.path), CONTRACTS.t5, 't5');
    const ids = [5, 7, 29, 1, 0, 0, 0];
    const { last_hidden_state } = await runGraph(pool, graph, { input_ids: ids64(ids) });
    expect(last_hidden_state!.shape).toEqual([1, 7, 16]);
    const w = { 'shared.weight': values['text_encoders.t5xxl.transformer.shared.weight']! };
    expect(normalisedError(last_hidden_state!.data as Float32Array, t5Ref(w, ids, 16))).toBeLessThan(1e-6);
  });

  it('demo rows: colour words carry their colour, pad and EOS are zero, words have a presence flag', async () => {
    const vocab = demoVocabulary(DEMO_T5_TOKENIZER);
    const graph = await writeAndLoad(dir, 't5-demo', demoT5Tensors(), demoMetadata('uso-demo-t5'), 't5');
    const ids = [vocab.get('red')!, vocab.get('circle')!, 1, 0];
    const out = (await runGraph(pool, graph, { input_ids: ids64(ids) })).last_hidden_state!.data as Float32Array;
    expect(out[0]).toBeCloseTo(230 / 127.5 - 1, 5);
    expect(out[1]).toBeCloseTo(40 / 127.5 - 1, 5);
    expect(out[15]).toBe(1);
    expect([out[16], out[17], out[18], out[31]]).toEqual([0, 0, 0, 1]);
    for (let i = 32; i < 64; i++) expect(out[i]).toBe(0);
  });

  it('is not claimed for a file with T5 encoder blocks (the real T5 encoder claims it)', async () => {
    const t = { ...demoT5Tensors(), 'encoder.block.0.layer.0.SelfAttention.q.weight': { dtype: 'F32' as const, shape: [1], data: new Float32Array(1) } };
    await expect(writeAndLoad(dir, 't5-real', t, demoMetadata('x'), 't5')).rejects.toThrow(/cannot infer the t5-v1_1-encoder config/);
  });
});

describe('demo CLIP', () => {
  it('pools the mean of the word embeddings (golden, random weights)', async () => {
    const { tensors } = randomCheckpoint({ 'text_model.embeddings.token_embedding.weight': { shape: [40, 16] } });
    const w = valuesOf(tensors);
    const emb = w['text_model.embeddings.token_embedding.weight']!;
    emb.fill(0, 0, 32); // rows 0 and 1 (start, end) are zero as in the demo file
    for (let r = 2; r < 40; r++) emb[r * 16 + 15] = 1;
    const graph = await writeAndLoad(dir, 'clip-random', withPrefix('text_encoders.clip_l.transformer.', tensors), demoMetadata('c'), 'clip');
    expect(graph.architecture).toBe('uso-demo-clip');
    checkContract(readFileSync(graph.path), CONTRACTS.clip, 'clip');
    const ids = [0, 5, 9, 33, ...Array(73).fill(1)];
    const batch = [...ids, 0, ...Array(76).fill(1)]; // second prompt: empty
    const input = new Tensor('int64', [2, 77], BigInt64Array.from(batch, (v) => BigInt(v)));
    const { pooled } = await runGraph(pool, graph, { input_ids: input });
    expect(pooled!.shape).toEqual([2, 16]);
    const ref = clipRef(w, batch, 2, 16);
    expect(normalisedError(pooled!.data as Float32Array, ref)).toBeLessThan(1e-6);
    expect(Array.from((pooled!.data as Float32Array).subarray(16))).toEqual(Array(16).fill(0));
    expect(ref[15]).toBeCloseTo(1, 12);
  });

  it('demo file: different prompts pool to different vectors', async () => {
    const vocab = demoVocabulary(DEMO_CLIP_TOKENIZER);
    const graph = await writeAndLoad(dir, 'clip-demo', demoClipTensors(), demoMetadata('uso-demo-clip'), 'clip');
    const prompt = (words: string[]) => [0, ...words.map((x) => vocab.get(x)!), ...Array(76 - words.length).fill(1)];
    const a = (await runGraph(pool, graph, { input_ids: new Tensor('int64', [1, 77], BigInt64Array.from(prompt(['a', 'cat']), BigInt)) })).pooled!;
    const b = (await runGraph(pool, graph, { input_ids: new Tensor('int64', [1, 77], BigInt64Array.from(prompt(['a', 'dog']), BigInt)) })).pooled!;
    expect(normalisedError(a.data as Float32Array, b.data as Float32Array)).toBeGreaterThan(0.1);
  });
});
