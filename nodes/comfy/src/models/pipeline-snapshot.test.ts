import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '@uso-studio/runtime';
import { pipelineSnapshot } from './pipeline-snapshot.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'uso-snapshot-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function snapshot(name: string, parts: string[], tokenizers: string[] = []): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model_index.json'), '{}');
  for (const p of parts) {
    fs.mkdirSync(path.join(dir, p), { recursive: true });
    writeSafetensors(path.join(dir, p, 'model.safetensors'), { w: { dtype: 'F32', shape: [1], data: Float32Array.of(1) } });
  }
  for (const t of tokenizers) {
    fs.mkdirSync(path.join(dir, t), { recursive: true });
    fs.writeFileSync(path.join(dir, t, 'tokenizer.json'), '{}');
  }
  return dir;
}

const ALL = ['transformer', 'vae', 'text_encoder', 'text_encoder_2'];

describe('pipelineSnapshot', () => {
  it('maps the component folders and takes tokenizer_2/tokenizer.json for T5 when present', () => {
    const dir = snapshot('full', ALL, ['tokenizer_2']);
    expect(pipelineSnapshot(dir, 'full')).toEqual({
      dit: path.join(dir, 'transformer'), vae: path.join(dir, 'vae'), clip: path.join(dir, 'text_encoder'), t5: path.join(dir, 'text_encoder_2'),
      t5Tokenizer: path.join(dir, 'tokenizer_2', 'tokenizer.json'),
    });
  });

  it('leaves the tokenizers to the shipped ones when the snapshot has no tokenizer.json', () => {
    const parts = pipelineSnapshot(snapshot('bare', ALL), 'bare');
    expect(parts.t5Tokenizer).toBeUndefined();
    expect(parts.clipTokenizer).toBeUndefined();
  });

  it('names a missing or empty component folder', () => {
    expect(() => pipelineSnapshot(snapshot('no-t5', ALL.slice(0, 3)), 'no-t5')).toThrow(/^no-t5\/text_encoder_2: is missing/);
    const dir = snapshot('empty-vae', ALL);
    fs.rmSync(path.join(dir, 'vae', 'model.safetensors'));
    expect(() => pipelineSnapshot(dir, 'empty-vae')).toThrow(/^empty-vae\/vae: holds no model file/);
  });
});
