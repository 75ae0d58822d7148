/**
 * Tokenizers for FLUX's text encoders, read from Hugging Face tokenizer.json files, and ComfyUI's token layouts:
 * T5-XXL without a start token, EOS appended, padded with 0 to at least 256 tokens and never truncated; CLIP-L in
 * 77-token chunks (start, up to 75 tokens, end, padded with the end token). Weights ride along per token.
 */

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { readModelHeader } from '@uso-studio/runtime';
import { parsePromptWeights } from './prompt-weights.ts';
import { clipBpeTokenizerJson, isBpeFolder } from './clip-bpe-tokenizer.ts';

/** A token id with its prompt weight. */
export interface WeightedToken {
  readonly id: number;
  readonly weight: number;
}

interface LoadedTokenizer {
  readonly tokenizer: Tokenizer;
  readonly special: ReadonlyMap<string, number>;
}

const cache = new Map<string, { mtimeMs: number; loaded: LoadedTokenizer }>();

/** The tokenizers shipped with the project (see tokenizers/NOTICE): T5's tokenizer.json, CLIP's vocab + merges. */
export const SHIPPED_TOKENIZERS: Readonly<Record<'t5xxl' | 'clip_l', string>> = {
  t5xxl: fileURLToPath(new URL('../../tokenizers/t5xxl/tokenizer.json', import.meta.url)),
  clip_l: fileURLToPath(new URL('../../tokenizers/clip_l', import.meta.url)),
};

function readTokenizerJson(file: string): TokenizerJson {
  if (fs.statSync(file).isDirectory()) {
    if (!isBpeFolder(file)) throw new Error(`${file}: a tokenizer folder needs vocab.json and merges.txt`);
    return clipBpeTokenizerJson(file) as TokenizerJson;
  }
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: not a readable tokenizer.json (${(error as Error).message})`);
  }
}

type TokenizerJson = { added_tokens?: Array<{ id: number; content: string }>; model?: { vocab?: unknown } };

/**
 * Loads (and caches by path and mtime) a tokenizer: a tokenizer.json file, or a folder with a CLIP-style BPE
 * vocabulary (vocab.json + merges.txt).
 */
export function loadTokenizer(file: string): LoadedTokenizer {
  const mtimeMs = fs.statSync(file).mtimeMs;
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === mtimeMs) return hit.loaded;
  const json = readTokenizerJson(file);
  const special = new Map<string, number>();
  const vocab = json.model?.vocab;
  if (vocab && typeof vocab === 'object' && !Array.isArray(vocab)) {
    for (const [k, v] of Object.entries(vocab as Record<string, number>)) if (/^[<[]/.test(k)) special.set(k, v);
  } else if (Array.isArray(vocab)) {
    // Unigram (T5): [[piece, score], ...], the id is the index.
    vocab.forEach((entry, id) => {
      const piece = Array.isArray(entry) ? String(entry[0]) : '';
      if (/^[<[]/.test(piece)) special.set(piece, id);
    });
  }
  for (const t of json.added_tokens ?? []) special.set(t.content, t.id);
  const loaded = { tokenizer: new Tokenizer(json, {}), special };
  cache.set(file, { mtimeMs, loaded });
  return loaded;
}

/**
 * Called between pieces of a long text (see TEXT_PIECE_CHARS); a node passes its interrupt check, which throws to
 * stop. Tokenizing the longest text the server accepts (100,000 characters) takes about a second for T5, one
 * blocking call without pieces.
 */
export type TokenizeCheckpoint = () => void;

/** Characters tokenized in one call at most (when a safe cut exists); interrupts are checked between calls. */
export const TEXT_PIECE_CHARS = 4000;

/**
 * Cuts a long text into pieces that tokenize to the same ids as the whole: only at a single space between two ASCII
 * letters or digits, where both tokenizers' pre-tokenizers split words anyway (T5's Metaspace puts the '▁' back on the
 * next word; CLIP splits on whitespace) and no normaliser joins across the space. The space itself is dropped. A text
 * without such a space goes in one piece.
 */
export function textPieces(text: string, pieceChars = TEXT_PIECE_CHARS): string[] {
  const pieces: string[] = [];
  const safe = (i: number) => text[i] === ' ' && /[A-Za-z0-9]/.test(text[i - 1] ?? '') && /[A-Za-z0-9]/.test(text[i + 1] ?? '');
  let start = 0;
  while (text.length - start > pieceChars) {
    let cut = -1;
    for (let i = start + pieceChars; i > start && cut < 0; i--) if (safe(i)) cut = i;
    for (let i = start + pieceChars + 1; i < text.length - 1 && cut < 0; i++) if (safe(i)) cut = i;
    if (cut < 0) break;
    pieces.push(text.slice(start, cut));
    start = cut + 1;
  }
  pieces.push(text.slice(start));
  return pieces;
}

/**
 * The ids of a prompt segment without special tokens, tokenized piece by piece with `checkpoint` between pieces.
 * `enough`: stop once this many ids are known (the CLIP chunk needs only its first 77).
 */
function encodeText(t: LoadedTokenizer, text: string, checkpoint?: TokenizeCheckpoint, enough = Number.POSITIVE_INFINITY): number[] {
  const ids: number[] = [];
  for (const piece of textPieces(text)) {
    if (ids.length >= enough) break;
    checkpoint?.();
    for (const id of t.tokenizer.encode(piece, { add_special_tokens: false }).ids) ids.push(Number(id));
  }
  return ids;
}

function weighted(t: LoadedTokenizer, prompt: string, checkpoint?: TokenizeCheckpoint): WeightedToken[] {
  const out: WeightedToken[] = [];
  for (const [text, weight] of parsePromptWeights(prompt)) for (const id of encodeText(t, text, checkpoint)) out.push({ id, weight });
  return out;
}

/** T5's end and pad ids ('</s>' and '<pad>', 1 and 0 for t5-v1_1). */
export function t5SpecialIds(t: LoadedTokenizer): { eos: number; pad: number } {
  return { eos: t.special.get('</s>') ?? 1, pad: t.special.get('<pad>') ?? 0 };
}

/** CLIP's start and end ids (49406 and 49407 for CLIP-L). */
function clipSpecialIds(t: LoadedTokenizer): { bos: number; eos: number } {
  return { bos: t.special.get('<|startoftext|>') ?? 49406, eos: t.special.get('<|endoftext|>') ?? 49407 };
}

/** T5 tokens as ComfyUI lays them out for FLUX: prompt tokens, EOS, pad to >= 256. */
export function tokenizeT5(t: LoadedTokenizer, prompt: string, minLength = 256, checkpoint?: TokenizeCheckpoint): WeightedToken[] {
  const { eos, pad } = t5SpecialIds(t);
  const tokens = weighted(t, prompt, checkpoint);
  tokens.push({ id: eos, weight: 1 });
  while (tokens.length < minLength) tokens.push({ id: pad, weight: 1 });
  return tokens;
}

/**
 * The first 77-token CLIP chunk (the one the pooled vector comes from), filled as ComfyUI's SDTokenizer fills it:
 * start token, then each prompt segment's tokens; a segment that no longer fits is split when it has 8 or more
 * tokens and moved to the next chunk otherwise; then the end token and end-token padding.
 */
export function tokenizeClipFirstChunk(t: LoadedTokenizer, prompt: string, checkpoint?: TokenizeCheckpoint): number[] {
  const { bos, eos } = clipSpecialIds(t);
  const chunk = [bos];
  for (const [text] of parsePromptWeights(prompt)) {
    // 77 ids tell everything the chunk needs: whether the segment fits, and its first tokens when it does not.
    const group = encodeText(t, text, checkpoint, 77);
    if (group.length === 0) continue;
    if (chunk.length + group.length > 76) {
      if (group.length >= 8) chunk.push(...group.slice(0, 76 - chunk.length));
      break;
    }
    chunk.push(...group);
  }
  chunk.push(eos);
  while (chunk.length < 77) chunk.push(eos);
  return chunk;
}

/**
 * The tokenizer for a text encoder file, first found of:
 * 1. the file's `__metadata__` key `uso_studio.tokenizer.<kind>` (a path relative to the models folder, as the demo
 *    files and checkpoints carry it);
 * 2. `<stem>.tokenizer.json` beside it, then `<stem>.<kind>.tokenizer.json` (a checkpoint's embedded encoders);
 * 3. the tokenizer shipped with the project (SHIPPED_TOKENIZERS), which is what every published t5xxl / clip_l file
 *    needs: ComfyUI's model folders hold no tokenizers.
 */
export function findTokenizer(weightFile: string, kind: 't5xxl' | 'clip_l', modelsDir: string): string {
  const fromMetadata = readModelHeader(weightFile).metadata[`uso_studio.tokenizer.${kind}`];
  if (fromMetadata) {
    const root = path.resolve(modelsDir);
    const candidate = path.resolve(root, fromMetadata);
    const rel = path.relative(root, candidate);
    if (!rel.startsWith('..') && !path.isAbsolute(rel) && fs.existsSync(candidate)) return candidate;
  }
  const dir = path.dirname(weightFile);
  const stem = path.basename(weightFile).replace(/\.(safetensors|sft)$/i, '');
  for (const p of [path.join(dir, `${stem}.tokenizer.json`), path.join(dir, `${stem}.${kind}.tokenizer.json`)]) {
    if (fs.existsSync(p)) return p;
  }
  return SHIPPED_TOKENIZERS[kind];
}
