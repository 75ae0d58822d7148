/**
 * The demo tokenizers as Hugging Face `tokenizer.json` documents (WordPiece over the demo vocabulary, lowercasing
 * BERT normaliser and pre-tokenizer), readable by @huggingface/tokenizers and the Rust `tokenizers` crate.
 *
 * - T5: ids 0 `<pad>`, 1 `</s>`, 2 `<unk>`; the post-processor appends `</s>` (as t5's own tokenizer.json does).
 *   The node pads with 0 to at least 256 tokens, as ComfyUI does (comfyui-sampling.md §7).
 * - CLIP: ids 0 `<|startoftext|>`, 1 `<|endoftext|>`, 2 `<|unk|>`; the post-processor wraps `<|startoftext|> $A
 *   <|endoftext|>`. The node pads with `<|endoftext|>` (1) to 77 tokens, as ComfyUI pads CLIP-L with its end token.
 */

import { demoWordTokens } from './vocabulary.ts';

export interface DemoTokenizerSpec {
  readonly kind: 't5' | 'clip';
  /** Special tokens in id order (ids 0, 1, 2). */
  readonly specials: readonly [string, string, string];
  readonly unk: string;
  readonly pad: string;
  readonly eos: string;
  readonly bos: string | null;
}

export const DEMO_T5_TOKENIZER: DemoTokenizerSpec = Object.freeze({
  kind: 't5',
  specials: ['<pad>', '</s>', '<unk>'] as const,
  unk: '<unk>',
  pad: '<pad>',
  eos: '</s>',
  bos: null,
});

export const DEMO_CLIP_TOKENIZER: DemoTokenizerSpec = Object.freeze({
  kind: 'clip',
  specials: ['<|startoftext|>', '<|endoftext|>', '<|unk|>'] as const,
  unk: '<|unk|>',
  pad: '<|endoftext|>',
  eos: '<|endoftext|>',
  bos: '<|startoftext|>',
});

/** Token -> id of a demo tokenizer (specials 0..2, then the shared word list). */
export function demoVocabulary(spec: DemoTokenizerSpec): Map<string, number> {
  const vocab = new Map<string, number>();
  spec.specials.forEach((t, i) => vocab.set(t, i));
  for (const t of demoWordTokens()) vocab.set(t, vocab.size);
  return vocab;
}

/** The tokenizer.json document of a demo tokenizer. */
export function demoTokenizerJson(spec: DemoTokenizerSpec): Record<string, unknown> {
  const vocab = demoVocabulary(spec);
  const id = (t: string) => vocab.get(t)!;
  const special = (t: string) => ({ id: id(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const seq = { Sequence: { id: 'A', type_id: 0 } };
  const tok = (t: string) => ({ SpecialToken: { id: t, type_id: 0 } });
  const single = spec.bos ? [tok(spec.bos), seq, tok(spec.eos)] : [seq, tok(spec.eos)];
  const specialTokens: Record<string, unknown> = {};
  for (const t of spec.bos ? [spec.bos, spec.eos] : [spec.eos]) specialTokens[t] = { id: t, ids: [id(t)], tokens: [t] };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: spec.specials.map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: true, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: { type: 'TemplateProcessing', single, pair: [...single, { Sequence: { id: 'B', type_id: 1 } }, tok(spec.eos)], special_tokens: specialTokens },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: spec.unk,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab),
    },
  };
}

/** A `tokenizer_config.json` companion (some loaders want one next to tokenizer.json). */
export function demoTokenizerConfig(spec: DemoTokenizerSpec): Record<string, unknown> {
  return {
    model_max_length: spec.kind === 'clip' ? 77 : 512,
    pad_token: spec.pad,
    eos_token: spec.eos,
    unk_token: spec.unk,
    ...(spec.bos ? { bos_token: spec.bos } : {}),
    do_lower_case: true,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
}
