import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeSparseSafetensors } from '@uso-studio/runtime';
import { writeTinyFiles } from '../../runtime/src/models/architectures/siglip-tiny.ts';
import { clipVitLVisionLayout, huggingFaceSiglipLayout } from '../../runtime/src/models/architectures/siglip-published.ts';
import { cli } from './models-commands.test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'uso-cli-inspect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Each command is a fresh tsx process (a few seconds on a loaded 2-core machine).
describe('uso-studio models inspect (process)', { timeout: 60_000 }, () => {
  it('prints architecture, config, dtypes, prefix, used / ignored / unknown tensors and memory', () => {
    const files = writeTinyFiles(join(dir, 'tiny'));
    const { code, stdout } = cli(['models', 'inspect', files.siglip.BF16, files.projector]);
    expect(code).toBe(0);
    expect(stdout).toContain('vision_encoder: siglip-vision v1');
    expect(stdout).toContain('"imageSize":20');
    expect(stdout).toContain('dtypes: BF16 x341');
    expect(stdout).toContain('tensors used: 341');
    expect(stdout).toContain('unknown: 0');
    expect(stdout).toMatch(/memory for weights: 312\.53 KiB mapped from the file on the CPU \(not copied\); held as float32 625\.06 KiB, float16 312\.53 KiB/);
    expect(stdout).toContain('projector: uso-projector v1');
    expect(stdout).toContain('key prefix: feature_embedder.');
  });

  it('reports the full-size Hugging Face SigLIP file with its text tower ignored, as JSON', () => {
    const file = join(dir, 'model.safetensors');
    writeSparseSafetensors(file, huggingFaceSiglipLayout());
    const { code, stdout } = cli(['models', 'inspect', '--json', file]);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { models: Array<{ architecture: string; config: { width: number; layers: number; imageSize: number }; used: string[]; ignored: string[]; unknown: string[]; computeBytes: { float32: number } }> };
    const [model] = report.models;
    expect(model!.architecture).toBe('siglip-vision');
    expect(model!.config).toMatchObject({ width: 1152, layers: 27, imageSize: 384 });
    expect(model!.used).toHaveLength(437);
    expect(model!.ignored.filter((n) => n.startsWith('text_model.'))).toHaveLength(27 * 16 + 6);
    expect(model!.unknown).toEqual([]);
    // 413.0 M vision parameters without the head.
    expect(model!.computeBytes.float32 / 4).toBe(412_987_248);
  });

  it('exits 1 naming what a lookalike is, and on a missing file, still reporting the others', () => {
    const file = join(dir, 'clip_vit_l.safetensors');
    writeSparseSafetensors(file, clipVitLVisionLayout());
    const { code, stdout, stderr } = cli(['models', 'inspect', file, join(dir, 'absent.safetensors')]);
    expect(code).toBe(1);
    expect(stdout).toContain('no known model found');
    expect(stdout).toMatch(/note: vision_encoder: it looks like a CLIP ViT-L\/14 vision tower.*expected a SigLIP vision tower/);
    expect(stderr).toMatch(/^error: .*absent\.safetensors/m);
  });
});
