import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultArchitectures } from '../architectures/index.ts';
import { inspectModelFile } from '../inspect.ts';
import { readSafetensorsHeader } from '../../safetensors/header.ts';
import { TINY_FILES, TINY_FLAG_KEY, generateTinyModels } from './generate.ts';

const root = mkdtempSync(join(tmpdir(), 'tiny-set-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('generateTinyModels', () => {
  const models = join(root, 'models');
  const { written } = generateTinyModels(models, join(root, 'input'));

  it('writes every file of the set, labelled as tiny with random weights, and the input pictures', () => {
    expect(written).toHaveLength(Object.keys(TINY_FILES).length + 3);
    for (const rel of Object.values(TINY_FILES)) {
      expect(rel).toContain('tiny');
      const { metadata } = readSafetensorsHeader(join(models, rel));
      expect(metadata[TINY_FLAG_KEY]).toBe('true');
      expect(metadata.description).toMatch(/random weights/);
    }
    expect(readdirSync(join(root, 'input')).sort()).toEqual(['uso-demo-style-a.png', 'uso-demo-style-b.png', 'uso-demo-subject.png']);
    expect(generateTinyModels(models, join(root, 'input')).written).toEqual([]);
  });

  it('is the real architectures in the published layouts and dtypes, every tensor used or deliberately ignored', () => {
    const registry = defaultArchitectures();
    const expected: Record<string, { architectures: string[]; dtypes: string[] }> = {
      checkpoint: { architectures: ['flux-dit', 'flux-vae-encoder', 'flux-vae-decoder', 't5-v1_1-encoder', 'clip-text'], dtypes: ['BF16', 'F16', 'F8_E4M3'] },
      dit: { architectures: ['flux-dit'], dtypes: ['BF16'] },
      vae: { architectures: ['flux-vae-encoder', 'flux-vae-decoder'], dtypes: ['F16'] },
      t5: { architectures: ['t5-v1_1-encoder'], dtypes: ['F16'] },
      clip: { architectures: ['clip-text'], dtypes: ['F16'] },
      vision: { architectures: ['siglip-vision'], dtypes: ['F16'] },
      projector: { architectures: ['uso-projector'], dtypes: ['BF16'] },
    };
    for (const [key, want] of Object.entries(expected)) {
      const report = inspectModelFile(join(models, TINY_FILES[key as keyof typeof TINY_FILES]), registry);
      expect(report.models.map((m) => m.architecture).sort(), key).toEqual([...want.architectures].sort());
      for (const m of report.models) expect(m.unknown, `${key} ${m.architecture}`).toEqual([]);
      const dtypes = new Set(report.models.flatMap((m) => Object.keys(m.dtypes)));
      expect([...dtypes].sort(), key).toEqual(want.dtypes);
    }
    // The checkpoint's DiT is the F8_E4M3 part, as in ComfyUI's flux1-dev-fp8.
    const ckpt = inspectModelFile(join(models, TINY_FILES.checkpoint), registry);
    expect(Object.keys(ckpt.models.find((m) => m.architecture === 'flux-dit')!.dtypes)).toEqual(['F8_E4M3']);
  });
});
