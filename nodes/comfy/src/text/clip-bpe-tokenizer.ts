/**
 * CLIP's byte-level BPE tokenizer as a Hugging Face tokenizer.json document, assembled from the two files OpenAI's
 * vocabulary is distributed as (vocab.json, merges.txt), for @huggingface/tokenizers to run.
 *
 * Text handling follows what ComfyUI runs: transformers' slow CLIPTokenizer without ftfy (ComfyUI does not install
 * it), whose fallback is a BasicTokenizer pass: drop control characters, map whitespace to spaces, put spaces
 * around CJK ideographs, NFC, lowercase, collapse whitespace and trim. Then CLIP's split pattern ('s 't 're 've 'm
 * 'll 'd, letter runs, single digits, other non-space runs), byte-to-unicode mapping, and BPE with `</w>` marking
 * each word's last symbol. `<|startoftext|>` (49406) and `<|endoftext|>` (49407) are special tokens.
 */

import fs from 'node:fs';
import path from 'node:path';

const CLIP_SPLIT = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

/** True when `folder` holds a vocab.json + merges.txt pair. */
export function isBpeFolder(folder: string): boolean {
  return fs.existsSync(path.join(folder, 'vocab.json')) && fs.existsSync(path.join(folder, 'merges.txt'));
}

/** The tokenizer.json document for the CLIP vocabulary in `folder` (vocab.json + merges.txt). */
export function clipBpeTokenizerJson(folder: string): Record<string, unknown> {
  const vocab = JSON.parse(fs.readFileSync(path.join(folder, 'vocab.json'), 'utf8')) as Record<string, number>;
  // merges.txt: a '#version' line, then one 'left right' pair per line in rank order.
  const merges = fs
    .readFileSync(path.join(folder, 'merges.txt'), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#version'));
  const special = (content: string) => {
    const id = vocab[content];
    if (id === undefined) throw new Error(`${folder}: vocab.json lacks '${content}'`);
    return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  };
  const bos = special('<|startoftext|>');
  const eos = special('<|endoftext|>');
  const token = (t: typeof bos) => ({ SpecialToken: { id: t.content, type_id: 0 } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [bos, eos],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: false, lowercase: false },
        { type: 'NFC' },
        { type: 'Lowercase' },
        { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
        { type: 'Strip', strip_left: true, strip_right: true },
      ],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_SPLIT }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'TemplateProcessing',
      single: [token(bos), { Sequence: { id: 'A', type_id: 0 } }, token(eos)],
      pair: [token(bos), { Sequence: { id: 'A', type_id: 0 } }, token(eos), { Sequence: { id: 'B', type_id: 0 } }, token(eos)],
      special_tokens: Object.fromEntries([bos, eos].map((t) => [t.content, { id: t.content, ids: [t.id], tokens: [t.content] }])),
    },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: eos.content,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      vocab,
      merges,
    },
  };
}
