import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensorsHeader } from './header.ts';
import { writeSafetensors } from './writer.ts';
import { SafetensorsFormatError, SafetensorsNotFoundError, SafetensorsTruncatedError } from './errors.ts';

let dir: string;
let good: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'st-header-'));
  good = join(dir, 'good.safetensors');
  writeSafetensors(
    good,
    {
      'a.weight': { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
      'b.bias': { dtype: 'BF16', shape: [4], data: new Uint16Array([0x3f80, 0x4000, 0, 0xbf80]) },
      'c.f8': { dtype: 'F8_E4M3', shape: [3], data: new Uint8Array([1, 2, 3]) },
      'd.ids': { dtype: 'I64', shape: [2], data: new BigInt64Array([7n, -1n]) },
      'e.scalar': { dtype: 'F16', shape: [], data: new Uint16Array([0x3c00]) },
    },
    { format: 'pt', note: 'hello' },
  );
});

function writeRaw(name: string, header: unknown, dataBytes = 0, lengthOverride?: bigint): string {
  const path = join(dir, name);
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  writeFileSync(path, Buffer.concat([prefix, json, Buffer.alloc(dataBytes)]));
  return path;
}

describe('readSafetensorsHeader', () => {
  it('lists tensors with dtype, shape, absolute offsets and lengths, and metadata', () => {
    const h = readSafetensorsHeader(good);
    expect(h.metadata).toEqual({ format: 'pt', note: 'hello' });
    expect([...h.tensors.keys()]).toEqual(['a.weight', 'b.bias', 'c.f8', 'd.ids', 'e.scalar']);
    const a = h.tensors.get('a.weight')!;
    expect(a).toMatchObject({ dtype: 'F32', shape: [2, 3], length: 24, offset: h.dataStart });
    expect(h.dataStart).toBe(8 + h.headerLength);
    expect(h.dataStart % 8).toBe(0);
    const b = h.tensors.get('b.bias')!;
    expect(b).toMatchObject({ dtype: 'BF16', shape: [4], length: 8, offset: h.dataStart + 24 });
    expect(h.tensors.get('c.f8')).toMatchObject({ dtype: 'F8_E4M3', length: 3 });
    expect(h.tensors.get('d.ids')).toMatchObject({ dtype: 'I64', length: 16 });
    expect(h.tensors.get('e.scalar')).toMatchObject({ dtype: 'F16', shape: [], length: 2 });
    // The offsets really point at the bytes.
    const file = readFileSync(good);
    expect(new Float32Array(file.buffer.slice(file.byteOffset + a.offset, file.byteOffset + a.offset + 24))).toEqual(
      new Float32Array([1, 2, 3, 4, 5, 6]),
    );
    expect(h.fileSize).toBe(file.byteLength);
  });

  it('names the file when it is missing or a folder', () => {
    const missing = join(dir, 'nope.safetensors');
    expect(() => readSafetensorsHeader(missing)).toThrow(SafetensorsNotFoundError);
    expect(() => readSafetensorsHeader(missing)).toThrow(/nope\.safetensors: file not found/);
    mkdirSync(join(dir, 'folder.safetensors'), { recursive: true });
    expect(() => readSafetensorsHeader(join(dir, 'folder.safetensors'))).toThrow(/folder\.safetensors: is a folder/);
  });

  it('reports truncation of the header and of the data', () => {
    const short = join(dir, 'short.safetensors');
    writeFileSync(short, Buffer.from([1, 2, 3]));
    expect(() => readSafetensorsHeader(short)).toThrow(SafetensorsTruncatedError);
    expect(() => readSafetensorsHeader(short)).toThrow(/short\.safetensors: file is 3 bytes, expected at least 8/);

    const cutHeader = writeRaw('cut-header.safetensors', { x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 0, 500n);
    expect(() => readSafetensorsHeader(cutHeader)).toThrow(/cut-header\.safetensors: truncated: header needs 508 bytes/);

    const cutData = join(dir, 'cut-data.safetensors');
    writeFileSync(cutData, readFileSync(good));
    truncateSync(cutData, readFileSync(good).byteLength - 1);
    expect(() => readSafetensorsHeader(cutData)).toThrow(SafetensorsTruncatedError);
    expect(() => readSafetensorsHeader(cutData)).toThrow(/cut-data\.safetensors: truncated: tensor 'e\.scalar' ends at data byte/);
  });

  it('rejects foreign files with a message saying what was expected', () => {
    const png = join(dir, 'image.png');
    writeFileSync(png, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64)]));
    expect(() => readSafetensorsHeader(png)).toThrow(SafetensorsFormatError);
    expect(() => readSafetensorsHeader(png)).toThrow(/image\.png: not a safetensors file/);

    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello world, this is not a model file at all');
    expect(() => readSafetensorsHeader(text)).toThrow(/notes\.txt: not a safetensors file/);

    const badJson = join(dir, 'bad-json.safetensors');
    const p = Buffer.alloc(8);
    p.writeBigUInt64LE(5n);
    writeFileSync(badJson, Buffer.concat([p, Buffer.from('{abc}')]));
    expect(() => readSafetensorsHeader(badJson)).toThrow(/bad-json\.safetensors: not a safetensors file: header is not valid JSON/);
  });

  it('never quotes the file: neither its first 8 bytes as a length nor its text', () => {
    const passwd = join(dir, 'passwd');
    writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\n');
    const asLength = Buffer.from('root:x:0').readBigUInt64LE(0).toString();
    for (const f of [passwd, join(dir, 'json-like')]) {
      if (f !== passwd) {
        const p = Buffer.alloc(8);
        p.writeBigUInt64LE(24n);
        writeFileSync(f, Buffer.concat([p, Buffer.from('{"secret-value": nope!!}')]));
      }
      let message = '';
      try {
        readSafetensorsHeader(f);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/not a safetensors file/);
      expect(message).not.toContain(asLength);
      expect(message).not.toMatch(/root|secret|nope/);
    }
  });

  it('rejects malformed tensor entries naming the tensor', () => {
    const dtype = writeRaw('dtype.safetensors', { x: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, 1);
    expect(() => readSafetensorsHeader(dtype)).toThrow(/dtype\.safetensors: tensor 'x': unsupported dtype "Q4"/);
    const size = writeRaw('size.safetensors', { x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4);
    expect(() => readSafetensorsHeader(size)).toThrow(/tensor 'x': F32 \[2\] needs 8 bytes but data_offsets span 4/);
  });
});
