import { describe, it, expect } from 'vitest';
import {
  PngFormatError,
  concatBytes,
  insertPngTextChunks,
  isPng,
  makeChunk,
  readPngChunks,
  readPngTextChunkList,
  readPngTextChunks,
  zlibDeflate,
} from './png-text.ts';
import { crc32 } from './crc32.ts';
import { bytes, tinyPng } from './test-png.ts';

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe('readPngChunks', () => {
  it('splits a PNG into IHDR, IDAT, IEND', async () => {
    const png = await tinyPng();
    expect(readPngChunks(png).map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect(isPng(png)).toBe(true);
  });

  it('refuses non-PNG input with a named error', () => {
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0, 0, 0, 0]);
    expect(() => readPngChunks(jpeg)).toThrow(PngFormatError);
    expect(() => readPngChunks(jpeg)).toThrow(/Not a PNG/);
    expect(() => readPngChunks(new Uint8Array(0))).toThrow(PngFormatError);
  });

  it('reports truncation', async () => {
    const png = await tinyPng();
    expect(() => readPngChunks(png.subarray(0, png.length - 6))).toThrow(/Truncated PNG/);
  });

  it('writes chunks with a correct CRC', () => {
    const chunk = makeChunk('tEXt', latin1('a\0b'));
    const crc = new DataView(chunk.buffer).getUint32(chunk.length - 4);
    expect(crc).toBe(crc32(chunk.subarray(4, chunk.length - 4)));
  });
});

describe('readPngTextChunks', () => {
  it('reads tEXt as latin-1 when the bytes are not UTF-8', async () => {
    const png = await tinyPng([makeChunk('tEXt', bytes(latin1('Comment'), [0], latin1('caf\xe9')))]);
    expect(await readPngTextChunks(png)).toEqual({ Comment: 'café' });
  });

  it('reads tEXt holding UTF-8 as UTF-8, as ComfyUI’s frontend does', async () => {
    const png = await tinyPng([makeChunk('tEXt', bytes('workflow', [0], '{"title":"スタイル"}'))]);
    expect(await readPngTextChunks(png)).toEqual({ workflow: '{"title":"スタイル"}' });
  });

  it('reads zTXt', async () => {
    const text = 'x'.repeat(500) + 'é';
    const zdata = await zlibDeflate(latin1(text));
    const png = await tinyPng([makeChunk('zTXt', bytes('prompt', [0, 0], zdata))]);
    expect(await readPngTextChunks(png)).toEqual({ prompt: text });
  });

  it('reads hand-built iTXt, uncompressed and compressed, with language and translated keyword', async () => {
    const text = '{"nodes":[],"note":"über ✓"}';
    const compressed = await zlibDeflate(new TextEncoder().encode(text));
    const plain = makeChunk('iTXt', bytes('workflow', [0, 0, 0], 'en', [0], 'Arbeitsablauf', [0], text));
    const packed = makeChunk('iTXt', bytes('prompt', [0, 1, 0], 'de-DE', [0], '', [0], compressed));
    const png = await tinyPng([plain, packed]);
    expect(await readPngTextChunks(png)).toEqual({ workflow: text, prompt: text });
    const list = await readPngTextChunkList(png);
    expect(list.map((c) => [c.type, c.keyword])).toEqual([
      ['iTXt', 'workflow'],
      ['iTXt', 'prompt'],
    ]);
  });

  it('lets a later chunk with the same keyword win', async () => {
    const png = await tinyPng([makeChunk('tEXt', bytes('k', [0], 'first')), makeChunk('tEXt', bytes('k', [0], 'second'))]);
    expect(await readPngTextChunks(png)).toEqual({ k: 'second' });
  });

  it('fails clearly on compressed text that does not inflate', async () => {
    const png = await tinyPng([makeChunk('zTXt', bytes('bad', [0, 0], [1, 2, 3, 4, 5]))]);
    await expect(readPngTextChunks(png)).rejects.toThrow(/'bad' does not inflate/);
  });

  it('ignores non-text chunks', async () => {
    const png = await tinyPng([makeChunk('gAMA', new Uint8Array([0, 0, 0xb1, 0x8f]))]);
    expect(await readPngTextChunks(png)).toEqual({});
  });
});

describe('insertPngTextChunks', () => {
  it('round-trips ASCII entries as tEXt placed before IDAT', async () => {
    const png = await tinyPng();
    const entries = { prompt: '{"1":{"class_type":"LoadImage","inputs":{}}}', workflow: '{"nodes":[]}' };
    const out = insertPngTextChunks(png, entries);
    expect(readPngChunks(out).map((c) => c.type)).toEqual(['IHDR', 'tEXt', 'tEXt', 'IDAT', 'IEND']);
    expect(await readPngTextChunks(out)).toEqual(entries);
    // The input is left untouched.
    expect(readPngChunks(png).map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
  });

  it('writes non-ASCII text as iTXt so every reader decodes it the same way', async () => {
    const out = insertPngTextChunks(await tinyPng(), { note: 'café ✓' });
    expect(readPngChunks(out).map((c) => c.type)).toContain('iTXt');
    expect(await readPngTextChunks(out)).toEqual({ note: 'café ✓' });
  });

  it('writes every entry as iTXt when asked', async () => {
    const out = insertPngTextChunks(await tinyPng(), { a: 'plain', b: 'ü' }, { itxt: true });
    const list = await readPngTextChunkList(out);
    expect(list).toEqual([
      { type: 'iTXt', keyword: 'a', text: 'plain' },
      { type: 'iTXt', keyword: 'b', text: 'ü' },
    ]);
  });

  it('replaces existing chunks with the same keyword and keeps others', async () => {
    const png = await tinyPng([makeChunk('tEXt', bytes('prompt', [0], 'old')), makeChunk('tEXt', bytes('other', [0], 'keep'))]);
    const out = insertPngTextChunks(png, { prompt: 'new' });
    const list = await readPngTextChunkList(out);
    expect(list.map((c) => `${c.keyword}=${c.text}`)).toEqual(['other=keep', 'prompt=new']);
  });

  it('round-trips a large multi-line JSON value', async () => {
    const big = JSON.stringify({ nodes: Array.from({ length: 3000 }, (_, i) => ({ id: i, title: `n${i}\nline` })) });
    const out = insertPngTextChunks(await tinyPng(), { workflow: big });
    expect((await readPngTextChunks(out))['workflow']).toBe(big);
  });

  it('refuses bad keywords, NUL in text, and non-PNG input', async () => {
    const png = await tinyPng();
    expect(() => insertPngTextChunks(png, { '': 'x' })).toThrow(RangeError);
    expect(() => insertPngTextChunks(png, { ['k'.repeat(80)]: 'x' })).toThrow(RangeError);
    expect(() => insertPngTextChunks(png, { 'ключ': 'x' })).toThrow(RangeError);
    expect(() => insertPngTextChunks(png, { k: 'a\0b' })).toThrow(/NUL/);
    expect(() => insertPngTextChunks(new Uint8Array([1, 2, 3]), { k: 'v' })).toThrow(PngFormatError);
  });
});

describe('concatBytes', () => {
  it('joins arrays in order into a new array', () => {
    const a = new Uint8Array([1, 2]);
    const joined = concatBytes([a, new Uint8Array(0), new Uint8Array([3])]);
    expect([...joined]).toEqual([1, 2, 3]);
    joined[0] = 9;
    expect(a[0]).toBe(1);
    expect(concatBytes([]).length).toBe(0);
  });
});
