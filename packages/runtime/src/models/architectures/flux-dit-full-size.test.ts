import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { readModelHeader } from '../../safetensors/model-files.ts';
import { detectArchitecture, loadModelGraph } from '../loader.ts';
import { defaultArchitectures } from './index.ts';
import { FLUX_CONFIGS, fluxIgnoredWeights, fluxRequiredWeights } from './flux-dit-config.ts';
import { FLUX_LAYOUTS, writeFluxLayout, type FluxLayout } from './flux-dit-full-size.ts';
import { tempDir } from './test-support.ts';

const dir = tempDir('flux-dit-full');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Session creation for these files is measured in bench/flux-dit.bench.ts: onnxruntime takes tens of seconds over
// the 57-block graph on this CPU, too long for a unit test.

describe('flux-dit at full size (synthesised sparse files)', () => {
  for (const layout of Object.keys(FLUX_LAYOUTS) as FluxLayout[]) {
    const { variant, tensors } = FLUX_LAYOUTS[layout];
    it(`${layout}: detected as ${variant}, published config, all ${tensors} tensors used, none unknown, graph built`, async () => {
      const path = writeFluxLayout(join(dir, layout), layout);
      const registry = defaultArchitectures();
      const detected = detectArchitecture(readModelHeader(path), 'dit', registry);
      expect(detected.architecture.id).toBe('flux-dit');
      expect(detected.unmapped).toEqual([]);
      const config = detected.architecture.inferConfig(detected.view);
      expect(config).toEqual(FLUX_CONFIGS[variant]);
      const required = fluxRequiredWeights(FLUX_CONFIGS[variant]);
      expect(required.length).toBe(tensors);
      const names = [...detected.view.tensors.keys()];
      const ignored = new Set(fluxIgnoredWeights(names));
      expect(names.filter((n) => !ignored.has(n)).sort()).toEqual([...required].sort());
      const graph = await loadModelGraph(path, 'dit', join(dir, 'graphs'), registry);
      expect(graph.config).toEqual(FLUX_CONFIGS[variant]);
      expect(graph.keyLayout).toBe(layout.startsWith('diffusers') ? 'diffusers' : 'canonical');
      rmSync(join(dir, layout), { recursive: true, force: true });
    }, 60_000);
  }
});
