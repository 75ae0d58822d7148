import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectKeyPrefix, remapKeys, withKeyPrefix } from './keys.ts';
import { writeSafetensors } from './writer.ts';
import { readSafetensorsHeader } from './header.ts';
import { readTensorFloat32 } from './read-data.ts';

describe('key remapping', () => {
  it('strips and adds prefixes, dropping keys outside the prefix', () => {
    const m = remapKeys(['feature_embedder.proj.weight', 'feature_embedder.norm.bias', 'other.x'], {
      stripPrefix: 'feature_embedder.',
    });
    expect([...m.entries()]).toEqual([
      ['proj.weight', 'feature_embedder.proj.weight'],
      ['norm.bias', 'feature_embedder.norm.bias'],
    ]);
    expect([...remapKeys(['a'], { addPrefix: 'p.' }).keys()]).toEqual(['p.a']);
  });

  it('detects the longest matching prefix', () => {
    const keys = ['model.diffusion_model.img_in.weight', 'vae.decoder.conv_in.weight'];
    expect(detectKeyPrefix(keys, ['', 'model.', 'model.diffusion_model.'])).toBe('model.diffusion_model.');
    expect(detectKeyPrefix(keys, ['text_encoders.'])).toBeUndefined();
  });

  it('gives a prefixed view of a header whose offsets still point at the data', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'st-keys-')), 'c.safetensors');
    writeSafetensors(path, {
      'model.diffusion_model.img_in.weight': { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) },
      'vae.x': { dtype: 'F32', shape: [1], data: new Float32Array([9]) },
    });
    const view = withKeyPrefix(readSafetensorsHeader(path), 'model.diffusion_model.');
    expect([...view.tensors.keys()]).toEqual(['img_in.weight']);
    expect(readTensorFloat32(view, 'img_in.weight')).toEqual(new Float32Array([1, 2]));
  });
});
