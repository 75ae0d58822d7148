import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors } from '@uso-studio/runtime';
import { testTokenizerJson } from '../test-support.ts';
import { findTokenizer, loadTokenizer, SHIPPED_TOKENIZERS, TEXT_PIECE_CHARS, textPieces, tokenizeClipFirstChunk, tokenizeT5 } from './tokenizers.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'uso-tok-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const words = Array.from({ length: 50 }, (_, i) => `w${i}`);

function tokenizer(kind: 't5' | 'clip') {
  const file = path.join(root, `${kind}.tokenizer.json`);
  fs.writeFileSync(file, JSON.stringify(testTokenizerJson(words, kind)));
  return loadTokenizer(file);
}

describe('T5 layout', () => {
  it('appends EOS 1, pads with 0 to 256, never truncates, and carries weights', () => {
    const t5 = tokenizer('t5');
    const short = tokenizeT5(t5, 'w0 (w1:2)');
    expect(short).toHaveLength(256);
    expect(short.slice(0, 4)).toEqual([{ id: 3, weight: 1 }, { id: 4, weight: 2 }, { id: 1, weight: 1 }, { id: 0, weight: 1 }]);
    const long = tokenizeT5(t5, Array.from({ length: 300 }, (_, i) => `w${i % 50}`).join(' '));
    expect(long).toHaveLength(301);
    expect(long.at(-1)).toEqual({ id: 1, weight: 1 });
  });
});

describe('CLIP first chunk', () => {
  it('wraps in start/end, pads with the end token to 77', () => {
    const clip = tokenizer('clip');
    expect(tokenizeClipFirstChunk(clip, 'w0 w1')).toEqual([61, 3, 4, ...new Array(74).fill(62)]);
  });

  it('moves a short segment that does not fit to the next chunk and splits a long one', () => {
    const clip = tokenizer('clip');
    const first = Array.from({ length: 72 }, (_, i) => `w${i % 50}`).join(' ');
    // 72 tokens, then a 5-token segment: 1 + 72 + 5 > 76, so it moves on and the chunk ends after 72.
    const moved = tokenizeClipFirstChunk(clip, `${first} (w1 w2 w3 w4 w5:1.2)`);
    expect(moved.slice(73)).toEqual([62, 62, 62, 62]);
    // An 8-token segment is split: the chunk fills up to 75 tokens.
    const split = tokenizeClipFirstChunk(clip, `${first} (w1 w2 w3 w4 w5 w6 w7 w8:1.2)`);
    expect(split.slice(73, 76)).toEqual([4, 5, 6]);
    expect(split[76]).toBe(62);
  });
});

describe('findTokenizer', () => {
  it('prefers the weight file metadata, then the stem, then the tokenizer shipped with the project', () => {
    const models = path.join(root, 'models');
    const te = path.join(models, 'text_encoders');
    fs.mkdirSync(te, { recursive: true });
    const t = { dtype: 'F32' as const, shape: [1], data: new Float32Array(1) };
    const withMeta = path.join(te, 'a.safetensors');
    writeSafetensors(withMeta, { x: t }, { 'uso_studio.tokenizer.t5xxl': 'text_encoders/named.json' });
    fs.writeFileSync(path.join(te, 'named.json'), '{}');
    expect(findTokenizer(withMeta, 't5xxl', models)).toBe(path.join(te, 'named.json'));
    const plain = path.join(te, 'b.safetensors');
    writeSafetensors(plain, { x: t });
    fs.writeFileSync(path.join(te, 'b.tokenizer.json'), '{}');
    expect(findTokenizer(plain, 'clip_l', models)).toBe(path.join(te, 'b.tokenizer.json'));
    // A metadata path out of the models folder is not followed; another encoder's tokenizer in the folder is not
    // taken either (a demo tokenizer beside a real t5xxl file would give nonsense ids).
    const other = path.join(te, 'c.safetensors');
    writeSafetensors(other, { x: t }, { 'uso_studio.tokenizer.clip_l': '../../outside.json' });
    fs.writeFileSync(path.join(te, 'my-clip.tokenizer.json'), '{}');
    expect(findTokenizer(other, 'clip_l', models)).toBe(SHIPPED_TOKENIZERS.clip_l);
    expect(findTokenizer(other, 't5xxl', models)).toBe(SHIPPED_TOKENIZERS.t5xxl);
  });
});

describe('long texts in pieces', () => {
  // Words, punctuation, runs of spaces, newlines, accents, CJK, emoji and symbols that NFKC rewrites (the shipped
  // tokenizers' normalisers): the cuts must never change an id.
  const fragment = fc.constantFrom('cat', 'Sofa', 'x9', '42', ' ', '  ', '\n', ',', '.', '(', ')', ':', 'é', 'ﬁ', '¨', '２', '猫', '🙂', '\u00a0', "don't", 'a-b');
  const text = fc.array(fragment, { minLength: 1, maxLength: 400 }).map((parts) => parts.join(''));

  it('cut only where both shipped tokenizers give the same ids as for the whole text', () => {
    for (const kind of ['t5xxl', 'clip_l'] as const) {
      const { tokenizer: tok } = loadTokenizer(SHIPPED_TOKENIZERS[kind]);
      const ids = (t: string) => tok.encode(t, { add_special_tokens: false }).ids.map(Number);
      fc.assert(
        fc.property(text, (t) => {
          const pieces = textPieces(t, 16);
          expect(pieces.join(' ').length).toBe(t.length); // only single spaces are dropped
          expect(pieces.flatMap(ids)).toEqual(ids(t));
        }),
        { numRuns: 150, seed: 12 },
      );
    }
  });

  it('call the checkpoint between pieces, and a throwing checkpoint stops tokenizing', () => {
    const t5 = loadTokenizer(SHIPPED_TOKENIZERS.t5xxl);
    const long = 'a watercolour cat on a red sofa '.repeat(Math.ceil((3.5 * TEXT_PIECE_CHARS) / 32));
    let calls = 0;
    const whole = tokenizeT5(t5, long, 256, () => void calls++);
    expect(calls).toBe(textPieces(long).length);
    expect(calls).toBeGreaterThanOrEqual(4);
    expect(whole.map((t) => t.id)).toEqual(tokenizeT5(t5, long).map((t) => t.id)); // pieces or not
    calls = 0;
    const stop = new Error('interrupted');
    expect(() =>
      tokenizeT5(t5, long, 256, () => {
        if (++calls === 2) throw stop;
      }),
    ).toThrow(stop);
    expect(calls).toBe(2);
    // The CLIP chunk needs 77 ids: it reads the first piece only.
    calls = 0;
    const clip = loadTokenizer(SHIPPED_TOKENIZERS.clip_l);
    expect(tokenizeClipFirstChunk(clip, long, () => void calls++)).toHaveLength(77);
    expect(calls).toBe(1);
  });
});
