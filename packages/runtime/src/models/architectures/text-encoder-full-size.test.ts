import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensorsHeader } from '../../safetensors/header.ts';
import { withKeyPrefix } from '../../safetensors/keys.ts';
import { writeSparseSafetensors } from '../../safetensors/sparse.ts';
import { SessionPool } from '../../session/session-pool.ts';
import { detectArchitecture, loadModelGraph } from '../loader.ts';
import type { Role } from '../contract.ts';
import { defaultArchitectures } from './index.ts';
import { clipText } from './clip-text.ts';
import { t5Encoder } from './t5-encoder.ts';
import { CLIP_FILES, CLIP_L_SIZES, T5_FILES, T5_XXL_SIZES } from './text-encoder-published.ts';
import { tempDir } from './test-support.ts';

const pool = new SessionPool();
afterAll(() => pool.releaseAll());
const registry = defaultArchitectures();

/**
 * Detects, infers, checks used/ignored and builds one sparse full-size file, then opens a session on it. Graph
 * optimisation is off for the session: with it on, onnxruntime folds the Cast of every f16/f8 initializer into a
 * float32 copy (19 GB for T5-XXL) until weights stay in their stored dtype.
 */
async function fullSize(label: string, specs: Record<string, { dtype: never } | object>, role: Role, check: (config: unknown) => void) {
  const dir = tempDir('text-full');
  try {
    const file = join(dir, label.replace(/[^A-Za-z0-9._-]/g, '_'));
    writeSparseSafetensors(file, specs as never);
    const header = readSafetensorsHeader(file);
    const { architecture, keyPrefix } = detectArchitecture(header, role, registry);
    const view = keyPrefix === '' ? header : withKeyPrefix(header, keyPrefix);
    const config = architecture.inferConfig(view);
    check(config);
    const names = [...view.tensors.keys()];
    const used = new Set(architecture.requiredWeights(config));
    const arch = role === 't5' ? t5Encoder : clipText;
    const ignored = new Set(arch.ignoredWeights(config as never, names));
    expect(names.filter((n) => !used.has(n) && !ignored.has(n))).toEqual([]);
    expect([...used].filter((n) => !view.tensors.has(n))).toEqual([]);
    const graph = await loadModelGraph(file, role, join(dir, 'graphs'), registry);
    const session = await pool.acquire(graph, { disablePrepacking: true, graphOptimizationLevel: 'disabled' });
    expect(session.inputNames).toEqual(['input_ids']);
    await pool.release(session);
    return { architecture: architecture.id, keyPrefix, ignored: [...ignored] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('T5-XXL at full size (sparse files with the published layouts)', () => {
  for (const [label, layout] of Object.entries(T5_FILES)) {
    it(`${label}: detected, published config, every tensor used or deliberately ignored, session created`, async () => {
      const result = await fullSize(label, layout(), 't5', (config) =>
        expect(config).toMatchObject({ ...T5_XXL_SIZES, maxDistance: 128, eps: 1e-6, embeddingKey: 'shared.weight' }),
      );
      expect(result.architecture).toBe('t5-v1_1-encoder');
      expect(result.keyPrefix).toBe(label.startsWith('flux1') ? 'text_encoders.t5xxl.transformer.' : '');
      if (label.includes('scaled')) expect(result.ignored).toContain('scaled_fp8');
      if (label === 't5xxl_fp16.safetensors') expect(result.ignored).toEqual(['encoder.embed_tokens.weight']);
    });
  }
});

describe('CLIP-L at full size (sparse files with the published layouts)', () => {
  for (const [label, layout] of Object.entries(CLIP_FILES)) {
    it(`${label}: detected, published config, every tensor used or deliberately ignored, session created`, async () => {
      const result = await fullSize(label, layout(), 'clip', (config) => expect(config).toMatchObject({ ...CLIP_L_SIZES, eps: 1e-5 }));
      expect(result.architecture).toBe('clip-text');
      expect(result.keyPrefix).toBe(label.startsWith('flux1') ? 'text_encoders.clip_l.transformer.' : '');
    });
  }
});
