import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isModelFolder, listModelFiles, resolveModelFile, ModelFileError } from './model-files.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'uso-files-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const touch = (...p: string[]) => {
  fs.mkdirSync(path.join(root, ...p.slice(0, -1)), { recursive: true });
  fs.writeFileSync(path.join(root, ...p), 'x');
};

describe('model folders', () => {
  it('list .safetensors/.sft recursively across aliases, hidden files and other extensions left out', () => {
    touch('text_encoders', 't5.safetensors');
    touch('clip', 'sub', 'clip_l.sft');
    touch('clip', 'notes.md');
    touch('clip', '.hidden.safetensors');
    expect(listModelFiles(root, 'text_encoders')).toEqual(['sub/clip_l.sft', 't5.safetensors']);
    expect(listModelFiles(root, 'loras')).toEqual([]);
    expect(isModelFolder('loras')).toBe(true);
    expect(isModelFolder('secrets')).toBe(false);
  });

  it('resolve names inside their folder only', () => {
    expect(resolveModelFile(root, 'text_encoders', 'sub/clip_l.sft')).toBe(path.join(root, 'clip', 'sub', 'clip_l.sft'));
    touch('vae', 'ae.safetensors');
    for (const bad of ['../vae/ae.safetensors', '/abs.safetensors', 'C:/x.safetensors', 'sub/../../vae/ae.safetensors']) {
      expect(() => resolveModelFile(root, 'text_encoders', bad)).toThrow(ModelFileError);
    }
    expect(() => resolveModelFile(root, 'vae', 'missing.safetensors')).toThrow(/vae\/missing\.safetensors: file not found/);
  });
});

describe('symlinks in the models folder', () => {
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'uso-outside-'));
  afterAll(() => fs.rmSync(outside, { recursive: true, force: true }));

  it('are never listed or resolved when they point outside the models folder, and no byte of the target is shown', () => {
    const secret = path.join(outside, 'passwd.safetensors');
    fs.writeFileSync(secret, 'root:x:0:0:root:/root:/bin/bash\n');
    fs.mkdirSync(path.join(root, 'checkpoints'), { recursive: true });
    fs.symlinkSync(secret, path.join(root, 'checkpoints', 'leak.safetensors'));
    fs.symlinkSync(outside, path.join(root, 'checkpoints', 'outside-dir'));
    expect(listModelFiles(root, 'checkpoints')).toEqual([]);
    let message = '';
    try {
      resolveModelFile(root, 'checkpoints', 'leak.safetensors');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/link to a file outside the models folder/);
    expect(message).not.toMatch(/root:x|passwd/);
    expect(() => resolveModelFile(root, 'checkpoints', 'outside-dir/passwd.safetensors')).toThrow(/outside the models folder/);
  });

  it('are followed when they stay inside the models folder', () => {
    touch('diffusion_models', 'dit.safetensors');
    fs.mkdirSync(path.join(root, 'checkpoints'), { recursive: true });
    fs.symlinkSync(path.join(root, 'diffusion_models', 'dit.safetensors'), path.join(root, 'checkpoints', 'dit-link.safetensors'));
    expect(listModelFiles(root, 'checkpoints')).toContain('dit-link.safetensors');
    expect(resolveModelFile(root, 'checkpoints', 'dit-link.safetensors')).toBe(path.join(root, 'checkpoints', 'dit-link.safetensors'));
  });
});
