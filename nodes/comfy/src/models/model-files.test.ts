import { describe, it, expect, afterAll } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isModelFolder, listModelFiles, modelFolderKind, resolveModelFile, ModelFileError } from './model-files.ts';
import { buildModelSearchPaths } from './model-paths.ts';

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

describe('several model directories and model folders', () => {
  const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'uso-roots-')));
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));
  const put = (...p: string[]) => {
    fs.mkdirSync(path.join(base, ...p.slice(0, -1)), { recursive: true });
    fs.writeFileSync(path.join(base, ...p), 'x');
  };

  it('lists every directory of a folder and resolves in search order', () => {
    put('data', 'loras', 'a.safetensors');
    put('comfy', 'models', 'loras', 'a.safetensors');
    put('comfy', 'models', 'loras', 'styles', 'ink.safetensors');
    const paths = buildModelSearchPaths([path.join(base, 'data'), path.join(base, 'comfy', 'models')]);
    expect(listModelFiles(paths, 'loras')).toEqual(['a.safetensors', 'styles/ink.safetensors']);
    expect(resolveModelFile(paths, 'loras', 'a.safetensors')).toBe(path.join(base, 'data', 'loras', 'a.safetensors'));
    expect(resolveModelFile(paths, 'loras', 'styles/ink.safetensors')).toBe(path.join(base, 'comfy', 'models', 'loras', 'styles', 'ink.safetensors'));
    expect(() => resolveModelFile(paths, 'loras', 'none.safetensors')).toThrow(new RegExp(`not found in ${path.join(base, 'data', 'loras')} or ${path.join(base, 'comfy', 'models', 'loras')}`));
  });

  it('lists a sharded component folder and a diffusers snapshot as one entry each, and resolves them', () => {
    put('data', 'diffusion_models', 'flux-transformer', 'diffusion_pytorch_model.safetensors.index.json');
    put('data', 'diffusion_models', 'flux-transformer', 'diffusion_pytorch_model-00001-of-00002.safetensors');
    put('data', 'checkpoints', 'FLUX.1-dev', 'model_index.json');
    put('data', 'checkpoints', 'FLUX.1-dev', 'vae', 'diffusion_pytorch_model.safetensors');
    put('data', 'checkpoints', 'FLUX.1-dev', 'transformer', 'diffusion_pytorch_model.safetensors.index.json');
    const paths = buildModelSearchPaths([path.join(base, 'data')]);
    expect(modelFolderKind(path.join(base, 'data', 'checkpoints', 'FLUX.1-dev'))).toBe('pipeline');
    expect(listModelFiles(paths, 'diffusion_models')).toEqual(['flux-transformer']);
    expect(listModelFiles(paths, 'checkpoints')).toEqual(['FLUX.1-dev']);
    expect(resolveModelFile(paths, 'checkpoints', 'FLUX.1-dev')).toBe(path.join(base, 'data', 'checkpoints', 'FLUX.1-dev'));
    expect(resolveModelFile(paths, 'diffusion_models', 'flux-transformer/')).toBe(path.join(base, 'data', 'diffusion_models', 'flux-transformer'));
    // A plain sub-folder is no model, whatever it holds.
    put('data', 'loras', 'styles', 'b.safetensors');
    expect(() => resolveModelFile(paths, 'loras', 'styles')).toThrow(/expected a \.safetensors or \.sft file or a model folder/);
  });

  it('follows links into any configured models directory, never out of them', () => {
    put('elsewhere', 'secret.safetensors');
    put('comfy', 'models', 'checkpoints', 'real.safetensors');
    fs.mkdirSync(path.join(base, 'data', 'checkpoints'), { recursive: true });
    fs.symlinkSync(path.join(base, 'comfy', 'models', 'checkpoints', 'real.safetensors'), path.join(base, 'data', 'checkpoints', 'linked.safetensors'));
    fs.symlinkSync(path.join(base, 'elsewhere', 'secret.safetensors'), path.join(base, 'data', 'checkpoints', 'leak.safetensors'));
    const paths = buildModelSearchPaths([path.join(base, 'data'), path.join(base, 'comfy', 'models')]);
    expect(listModelFiles(paths, 'checkpoints')).toEqual(['FLUX.1-dev', 'linked.safetensors', 'real.safetensors']);
    expect(() => resolveModelFile(paths, 'checkpoints', 'leak.safetensors')).toThrow(/outside the models folder/);
  });
});
