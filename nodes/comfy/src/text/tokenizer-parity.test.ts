import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { loadTokenizer, SHIPPED_TOKENIZERS, tokenizeClipFirstChunk, tokenizeT5 } from './tokenizers.ts';

/** Reference ids from scripts/tokenizer-reference.py (SentencePiece for T5, an independent CLIP BPE). */
interface Case {
  readonly prompt: string;
  readonly t5_ids: number[];
  readonly t5_weights: number[];
  readonly clip_ids: number[];
}
const reference = JSON.parse(fs.readFileSync(new URL('./fixtures/tokenizer-reference.json', import.meta.url), 'utf8')) as { cases: Case[] };
const prompts = JSON.parse(fs.readFileSync(new URL('./fixtures/tricky-prompts.json', import.meta.url), 'utf8')) as { prompts: string[] };

describe('shipped tokenizers against the reference tokenizers (30 tricky prompts, ComfyUI layout)', () => {
  const t5 = loadTokenizer(SHIPPED_TOKENIZERS.t5xxl);
  const clip = loadTokenizer(SHIPPED_TOKENIZERS.clip_l);

  it('covers the committed prompt list', () => {
    expect(reference.cases.map((c) => c.prompt)).toEqual(prompts.prompts);
    expect(reference.cases).toHaveLength(30);
  });

  for (const [i, c] of reference.cases.entries()) {
    const label = `${i}: ${JSON.stringify(c.prompt.slice(0, 40))}`;
    it(`T5 ${label}`, () => {
      const tokens = tokenizeT5(t5, c.prompt);
      expect(tokens.map((t) => t.id)).toEqual(c.t5_ids);
      expect(tokens.map((t) => Math.round(t.weight * 1e6) / 1e6)).toEqual(c.t5_weights);
    });
    it(`CLIP ${label}`, () => {
      expect(tokenizeClipFirstChunk(clip, c.prompt)).toEqual(c.clip_ids);
    });
  }

  it('the ids are the published ones (CLIP start/end 49406/49407, T5 "</s>" 1)', () => {
    expect(tokenizeClipFirstChunk(clip, 'a photo of a cat').slice(0, 7)).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
    expect(tokenizeT5(t5, 'a cat').slice(0, 4).map((t) => t.id)).toEqual([3, 9, 1712, 1]);
  });
});
