#!/usr/bin/env python3
"""DEV-ONLY: reference token ids for the shipped tokenizers, from implementations independent of
@huggingface/tokenizers, laid out as ComfyUI lays them out for FLUX. Writes src/text/fixtures/tokenizer-reference.json
for the prompts in src/text/fixtures/tricky-prompts.json; tokenizer-parity.test.ts compares our ids with it.

- T5: Google's SentencePiece library (Debian python3-sentencepiece 0.1.97) running a unigram model proto rebuilt from
  the shipped tokenizer.json: its 32000 pieces and scores, and the `precompiled_charsmap` of its normalizer (that
  charsmap is SentencePiece's own nmt_nfkc table), with SentencePiece's defaults (dummy prefix, extra whitespace
  removed). The 100 <extra_id_N> added tokens are left out (no prompt here contains one).
- CLIP: CLIP's published byte-level BPE algorithm written here from its description, run as transformers' slow
  CLIPTokenizer runs it without ftfy (which ComfyUI does not install): a BasicTokenizer pass (control characters
  dropped, whitespace to spaces, spaces around CJK ideographs, NFC, lowercase, whitespace collapsed), CLIP's split
  pattern, bytes to unicode, BPE merges by rank with '</w>' on each word's last symbol.
- Layout (ComfyUI's SDTokenizer for FLUX): prompt weights "(text:1.2)", "(text)" = x1.1 per level, "\\(" literal; each
  weighted segment tokenized whole; T5: no start token, '</s>' appended, padded with 0 to 256 tokens; CLIP: the first
  77-token chunk: start, tokens (a segment that no longer fits is split if it has 8+ tokens, else moved to the next
  chunk), end, padded with the end token.
Needs: python3-sentencepiece, python3-protobuf, python3-regex (Debian).
Run:   /usr/bin/python3 nodes/comfy/scripts/tokenizer-reference.py
"""
import base64
import json
import os
import unicodedata

import regex
import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as model_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..')
FIXTURES = os.path.join(ROOT, 'src', 'text', 'fixtures')


# ---------------------------------------------------------------- T5 (SentencePiece)
def t5_processor():
    with open(os.path.join(ROOT, 'tokenizers', 't5xxl', 'tokenizer.json')) as f:
        doc = json.load(f)
    charsmap = next(n['precompiled_charsmap'] for n in doc['normalizer']['normalizers'] if n['type'] == 'Precompiled')
    proto = model_pb2.ModelProto()
    proto.trainer_spec.model_type = model_pb2.TrainerSpec.UNIGRAM
    proto.trainer_spec.vocab_size = 32000
    proto.trainer_spec.unk_id = 2
    proto.trainer_spec.pad_id = 0
    proto.trainer_spec.eos_id = 1
    proto.trainer_spec.bos_id = -1
    proto.normalizer_spec.name = 'nmt_nfkc'
    proto.normalizer_spec.precompiled_charsmap = base64.b64decode(charsmap)
    proto.normalizer_spec.add_dummy_prefix = True
    proto.normalizer_spec.remove_extra_whitespaces = True
    proto.normalizer_spec.escape_whitespaces = True
    for i, (piece, score) in enumerate(doc['model']['vocab'][:32000]):
        p = proto.pieces.add()
        p.piece = piece
        p.score = score
        p.type = {0: p.CONTROL, 1: p.CONTROL, 2: p.UNKNOWN}.get(i, p.NORMAL)
    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(proto.SerializeToString())
    return sp


# ---------------------------------------------------------------- CLIP (byte-level BPE)
def bytes_to_unicode():
    """CLIP's reversible byte -> printable character map: printable Latin-1 bytes map to themselves, the rest to 256+."""
    keep = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    table = {}
    extra = 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_clean(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD:
            continue
        if ch in ' \t\n\r' or unicodedata.category(ch) == 'Zs':
            out.append(' ')
        elif unicodedata.category(ch).startswith('C'):
            continue
        elif is_cjk(cp):
            out.append(' ' + ch + ' ')
        else:
            out.append(ch)
    words = unicodedata.normalize('NFC', ''.join(out)).split()
    return ' '.join(w.lower() for w in words)


class ClipBpe:
    PATTERN = regex.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", regex.IGNORECASE)

    def __init__(self):
        folder = os.path.join(ROOT, 'tokenizers', 'clip_l')
        with open(os.path.join(folder, 'vocab.json')) as f:
            self.vocab = json.load(f)
        with open(os.path.join(folder, 'merges.txt')) as f:
            lines = [l for l in f.read().split('\n') if l and not l.startswith('#version')]
        self.ranks = {tuple(l.split(' ')): i for i, l in enumerate(lines)}
        self.bytes = bytes_to_unicode()
        self.bos = self.vocab['<|startoftext|>']
        self.eos = self.vocab['<|endoftext|>']

    def bpe(self, word):
        symbols = list(word[:-1]) + [word[-1] + '</w>']
        while len(symbols) > 1:
            pairs = [(self.ranks.get((a, b), None), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
            ranked = [p for p in pairs if p[0] is not None]
            if not ranked:
                break
            best = min(ranked)[0]
            merged = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and self.ranks.get((symbols[i], symbols[i + 1])) == best:
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        return symbols

    def encode(self, text):
        ids = []
        for word in self.PATTERN.findall(basic_clean(text)):
            mapped = ''.join(self.bytes[b] for b in word.encode('utf-8'))
            ids.extend(self.vocab[s] for s in self.bpe(mapped))
        return ids


# ---------------------------------------------------------------- ComfyUI's prompt weights and layouts
def top_level_groups(text):
    groups, current, depth = [], '', 0
    for ch in text:
        if ch == '(':
            if depth == 0:
                if current:
                    groups.append(current)
                current = '('
            else:
                current += ch
            depth += 1
        elif ch == ')':
            depth -= 1
            if depth == 0:
                groups.append(current + ')')
                current = ''
            else:
                current += ch
        else:
            current += ch
    if current:
        groups.append(current)
    return groups


def weighted_segments(text, weight=1.0):
    out = []
    for group in top_level_groups(text):
        if len(group) >= 2 and group[0] == '(' and group[-1] == ')':
            inner = group[1:-1]
            w = weight * 1.1
            colon = inner.rfind(':')
            if colon > 0:
                try:
                    w = float(inner[colon + 1:])
                    inner = inner[:colon]
                except ValueError:
                    pass
            out.extend(weighted_segments(inner, w))
        else:
            out.append((group, weight))
    return out


def prompt_segments(prompt):
    escaped = prompt.replace('\\)', '\0\1').replace('\\(', '\0\2')
    return [(t.replace('\0\1', ')').replace('\0\2', '('), w) for t, w in weighted_segments(escaped) if t]


def t5_layout(sp, prompt):
    tokens = [(i, w) for text, w in prompt_segments(prompt) for i in sp.encode(text)]
    tokens.append((1, 1.0))
    tokens += [(0, 1.0)] * (256 - len(tokens))
    return tokens


def clip_first_chunk(bpe, prompt):
    chunk = [bpe.bos]
    for text, _ in prompt_segments(prompt):
        group = bpe.encode(text)
        if not group:
            continue
        if len(chunk) + len(group) > 76:
            if len(group) >= 8:
                chunk += group[:76 - len(chunk)]
            break
        chunk += group
    chunk.append(bpe.eos)
    return chunk + [bpe.eos] * (77 - len(chunk))


def main():
    with open(os.path.join(FIXTURES, 'tricky-prompts.json')) as f:
        prompts = json.load(f)['prompts']
    sp = t5_processor()
    bpe = ClipBpe()
    cases = []
    for prompt in prompts:
        t5 = t5_layout(sp, prompt)
        cases.append({
            'prompt': prompt,
            't5_ids': [i for i, _ in t5],
            't5_weights': [round(w, 6) for _, w in t5],
            'clip_ids': clip_first_chunk(bpe, prompt),
            't5_raw': sp.encode(prompt),
            'clip_raw': bpe.encode(prompt),
        })
    out = os.path.join(FIXTURES, 'tokenizer-reference.json')
    with open(out, 'w') as f:
        json.dump({'note': 'made by nodes/comfy/scripts/tokenizer-reference.py (SentencePiece 0.1.97; CLIP BPE written from its description)', 'cases': cases}, f)
        f.write('\n')
    print('wrote', out, os.path.getsize(out), 'bytes')


if __name__ == '__main__':
    main()
