import { describe, it, expect } from 'vitest';
import { DEMO_CLIP_TOKENIZER, DEMO_T5_TOKENIZER, demoTokenizerConfig, demoTokenizerJson, demoVocabulary } from './tokenizer.ts';
import { COLOUR_WORDS } from './vocabulary.ts';

interface Encoding {
  ids: number[];
  tokens: string[];
}
interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): Encoding;
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  token_to_id(token: string): number | undefined;
}

// The package the comfy node pack tokenizes with; loaded by path (runtime does not depend on it), so the check is
// against the real consumer of these files.
const tokenizersPath = new URL('../../../../../nodes/comfy/node_modules/@huggingface/tokenizers/dist/tokenizers.mjs', import.meta.url).href;
const { Tokenizer } = (await import(tokenizersPath)) as { Tokenizer: new (json: object, config: object) => HfTokenizer };

describe('demo tokenizers', () => {
  it('T5: lowercases, splits punctuation, appends </s> (id 1); pad is id 0', () => {
    const t = new Tokenizer(demoTokenizerJson(DEMO_T5_TOKENIZER), demoTokenizerConfig(DEMO_T5_TOKENIZER));
    const e = t.encode('A Red circle, at Night');
    expect(e.tokens).toEqual(['a', 'red', 'circle', ',', 'at', 'night', '</s>']);
    expect(e.ids.at(-1)).toBe(1);
    expect(t.token_to_id('<pad>')).toBe(0);
    expect(t.encode('red', { add_special_tokens: false }).ids).toEqual([demoVocabulary(DEMO_T5_TOKENIZER).get('red')]);
  });

  it('CLIP: wraps in <|startoftext|> (0) ... <|endoftext|> (1)', () => {
    const t = new Tokenizer(demoTokenizerJson(DEMO_CLIP_TOKENIZER), {});
    const e = t.encode('blue waves');
    expect(e.tokens).toEqual(['<|startoftext|>', 'blue', 'waves', '<|endoftext|>']);
    expect([e.ids[0], e.ids.at(-1)]).toEqual([0, 1]);
  });

  it('unknown words fall back to letter pieces, so different words give different ids', () => {
    const t = new Tokenizer(demoTokenizerJson(DEMO_T5_TOKENIZER), {});
    const a = t.encode('zorblax', { add_special_tokens: false });
    const b = t.encode('quixotic', { add_special_tokens: false });
    expect(a.tokens).toEqual(['z', '##o', '##r', '##b', '##l', '##a', '##x']);
    expect(a.ids).not.toEqual(b.ids);
    expect(t.encode('ünïcode', { add_special_tokens: false }).tokens).toEqual(['u', '##n', '##i', '##c', '##o', '##d', '##e']);
  });

  it('has every colour word, a few hundred words in all, and ids 0..V-1 without gaps', () => {
    const vocab = demoVocabulary(DEMO_T5_TOKENIZER);
    for (const w of Object.keys(COLOUR_WORDS)) expect(vocab.has(w)).toBe(true);
    expect(vocab.size).toBeGreaterThan(300);
    expect([...vocab.values()].sort((x, y) => x - y)).toEqual([...Array(vocab.size).keys()]);
  });
});
