import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SafetensorsFormatError, SafetensorsNotFoundError } from './errors.ts';
import { isModelFolder, readModelHeader } from './model-files.ts';
import { readTensorFloat32 } from './read-data.ts';
import { writeSafetensors } from './writer.ts';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'model-files-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function shardedFolder(name: string, options: { dropShard?: boolean; lieAbout?: string } = {}): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeSafetensors(join(dir, 'model-00001-of-00002.safetensors'), {
    'a.weight': { dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) },
    'b.weight': { dtype: 'F32', shape: [1], data: Float32Array.of(3) },
  }, { format: 'pt' });
  if (!options.dropShard) {
    writeSafetensors(join(dir, 'model-00002-of-00002.safetensors'), {
      'c.weight': { dtype: 'F32', shape: [3], data: Float32Array.of(4, 5, 6) },
    });
  }
  const weightMap: Record<string, string> = {
    'a.weight': 'model-00001-of-00002.safetensors',
    'b.weight': 'model-00001-of-00002.safetensors',
    'c.weight': 'model-00002-of-00002.safetensors',
  };
  if (options.lieAbout) weightMap[options.lieAbout] = 'model-00002-of-00002.safetensors';
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 24 }, weight_map: weightMap }));
  return dir;
}

describe('readModelHeader', () => {
  it('merges the shards of an index into one header whose tensors name their own file', () => {
    const dir = shardedFolder('ok');
    expect(isModelFolder(dir)).toBe(true);
    const header = readModelHeader(dir);
    expect(header.path).toBe(dir);
    expect([...header.tensors.keys()].sort()).toEqual(['a.weight', 'b.weight', 'c.weight']);
    expect(header.tensors.get('c.weight')!.file).toBe(join(dir, 'model-00002-of-00002.safetensors'));
    expect(header.shards!.map((s) => s.path)).toEqual([
      join(dir, 'model-00001-of-00002.safetensors'),
      join(dir, 'model-00002-of-00002.safetensors'),
    ]);
    expect(header.metadata).toMatchObject({ format: 'pt', 'index.total_size': '24' });
    expect([...readTensorFloat32(header, 'c.weight')]).toEqual([4, 5, 6]);
    expect([...readTensorFloat32(header, 'a.weight')]).toEqual([1, 2]);
  });

  it('names a missing shard as an interrupted download', () => {
    const dir = shardedFolder('partial', { dropShard: true });
    expect(() => readModelHeader(dir)).toThrow(SafetensorsNotFoundError);
    expect(() => readModelHeader(dir)).toThrow(/model-00002-of-00002\.safetensors.*shard missing.*interrupted download/);
  });

  it('refuses an index that places a tensor in a shard lacking it', () => {
    const dir = shardedFolder('liar', { lieAbout: 'z.weight' });
    expect(() => readModelHeader(dir)).toThrow(/lacks tensor 'z.weight'/);
  });

  it('refuses an index that points outside its folder', () => {
    const dir = join(root, 'escape');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'a.weight': '../other.safetensors' } }));
    expect(() => readModelHeader(dir)).toThrow(SafetensorsFormatError);
    expect(() => readModelHeader(dir)).toThrow(/outside its folder/);
  });

  it('reads a folder holding one model file, and refuses one with several and no index', () => {
    const one = join(root, 'one');
    mkdirSync(one);
    writeSafetensors(join(one, 'diffusion_pytorch_model.safetensors'), { x: { dtype: 'F32', shape: [1], data: Float32Array.of(7) } });
    expect(readModelHeader(one).path).toBe(join(one, 'diffusion_pytorch_model.safetensors'));
    writeSafetensors(join(one, 'other.safetensors'), { x: { dtype: 'F32', shape: [1], data: Float32Array.of(7) } });
    expect(isModelFolder(one)).toBe(false);
    expect(() => readModelHeader(one)).toThrow(/2 \.safetensors files and no \*\.safetensors\.index\.json/);
    const empty = join(root, 'empty');
    mkdirSync(empty);
    expect(() => readModelHeader(empty)).toThrow(/without \.safetensors files/);
  });

  it('reads a plain file as before', () => {
    const file = join(root, 'plain.safetensors');
    writeSafetensors(file, { x: { dtype: 'F32', shape: [1], data: Float32Array.of(1) } });
    expect(readModelHeader(file).shards).toBeUndefined();
    expect(() => readModelHeader(join(root, 'nope.safetensors'))).toThrow(SafetensorsNotFoundError);
  });
});
