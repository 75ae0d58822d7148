import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readModelHeader } from '../../safetensors/model-files.ts';
import { withKeyPrefix } from '../../safetensors/keys.ts';
import { writeSparseSafetensors, type SparseTensorSpec } from '../../safetensors/sparse.ts';
import { SessionPool } from '../../session/session-pool.ts';
import { detectArchitecture, loadModelGraph } from '../loader.ts';
import type { Role } from '../contract.ts';
import { defaultArchitectures } from './index.ts';
import { clipText } from './clip-text.ts';
import { t5Encoder } from './t5-encoder.ts';
import { CLIP_FILES, CLIP_L_SIZES, T5_FILES, T5_XXL_SIZES, t5XxlLayout } from './text-encoder-published.ts';
import { tempDir } from './test-support.ts';

const pool = new SessionPool();
afterAll(() => pool.releaseAll());
const registry = defaultArchitectures();

type Specs = Record<string, SparseTensorSpec>;

/**
 * One sparse file named after the layout's label; a label with a folder ('text_encoder/model.safetensors') is written
 * inside that folder and the folder is what gets loaded, as a user points at a diffusers model folder.
 */
function singleFile(label: string, specs: Specs) {
  return (dir: string): string => {
    const slash = label.indexOf('/');
    if (slash > 0) {
      const folder = join(dir, label.slice(0, slash));
      mkdirSync(folder);
      writeSparseSafetensors(join(folder, label.slice(slash + 1)), specs);
      return folder;
    }
    const file = join(dir, label.replace(/[^A-Za-z0-9._-]/g, '_'));
    writeSparseSafetensors(file, specs);
    return file;
  };
}

/**
 * Detects, infers, checks used/ignored and builds one sparse full-size model (a file or a shard folder written by
 * `write`), then opens a session on it through the loader's ModelRef and checks the process grew by less than 1 GB
 * (the weights stay mapped in their stored dtype).
 */
async function fullSize(write: (dir: string) => string, role: Role, check: (config: unknown) => void) {
  const dir = tempDir('text-full');
  try {
    const path = write(dir);
    const header = readModelHeader(path);
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
    const graph = await loadModelGraph(path, role, join(dir, 'graphs'), registry);
    const before = process.memoryUsage().rss;
    const session = await pool.acquire(graph, { disablePrepacking: true });
    expect(process.memoryUsage().rss - before).toBeLessThan(2 ** 30);
    expect(session.inputNames).toEqual(['input_ids']);
    await pool.release(session);
    return { architecture: architecture.id, keyPrefix, ignored: [...ignored] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A diffusers `text_encoder_2/` folder: the BF16 encoder split over two shards plus the index JSON. */
function shardedTextEncoder2(dir: string): string {
  const folder = join(dir, 'text_encoder_2');
  mkdirSync(folder);
  const entries = Object.entries(t5XxlLayout({ matrix: 'BF16', embedding: 'BF16', other: 'BF16' }));
  const half = Math.ceil(entries.length / 2);
  const weightMap: Record<string, string> = {};
  let total = 0;
  [entries.slice(0, half), entries.slice(half)].forEach((part, i) => {
    const shard = `model-0000${i + 1}-of-00002.safetensors`;
    total += writeSparseSafetensors(join(folder, shard), Object.fromEntries(part));
    for (const [name] of part) weightMap[name] = shard;
  });
  writeFileSync(join(folder, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }));
  return folder;
}

describe('T5-XXL at full size (sparse files with the published layouts)', () => {
  for (const [label, layout] of Object.entries(T5_FILES)) {
    it(`${label}: detected, published config, every tensor used or deliberately ignored, session created`, async () => {
      const result = await fullSize(singleFile(label, layout()), 't5', (config) =>
        expect(config).toMatchObject({ ...T5_XXL_SIZES, maxDistance: 128, eps: 1e-6, embeddingKey: 'shared.weight' }),
      );
      expect(result.architecture).toBe('t5-v1_1-encoder');
      expect(result.keyPrefix).toBe(label.startsWith('flux1') ? 'text_encoders.t5xxl.transformer.' : '');
      if (label.includes('scaled')) expect(result.ignored).toContain('scaled_fp8');
      if (label === 't5xxl_fp16.safetensors') expect(result.ignored).toEqual(['encoder.embed_tokens.weight']);
    });
  }

  it('diffusers text_encoder_2/ (BF16 shards + index JSON): detected, published config, session created', async () => {
    const t5 = T5_XXL_SIZES;
    const result = await fullSize(shardedTextEncoder2, 't5', (config) => expect(config).toMatchObject({ ...t5, embeddingKey: 'shared.weight' }));
    expect(result).toEqual({ architecture: 't5-v1_1-encoder', keyPrefix: '', ignored: [] });
  });
});

describe('CLIP-L at full size (sparse files with the published layouts)', () => {
  for (const [label, layout] of Object.entries(CLIP_FILES)) {
    it(`${label}: detected, published config, every tensor used or deliberately ignored, session created`, async () => {
      const result = await fullSize(singleFile(label, layout()), 'clip', (config) => expect(config).toMatchObject({ ...CLIP_L_SIZES, eps: 1e-5 }));
      expect(result.architecture).toBe('clip-text');
      expect(result.keyPrefix).toBe(label.startsWith('flux1') ? 'text_encoders.clip_l.transformer.' : '');
    });
  }
});
