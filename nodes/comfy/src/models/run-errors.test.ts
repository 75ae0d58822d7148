import { describe, it, expect, afterAll } from 'vitest';
import { Tensor } from '@uso-studio/runtime';
import { makeTestHost, testRegistry } from '../test-support.ts';
import { createModelService } from './model-service.ts';
import { ModelRunError, runFailure } from './run-errors.ts';

const host = makeTestHost();
afterAll(() => host.cleanup());

describe('model run failures', () => {
  it('say what was run, on which sizes and what to change, never onnxruntime\'s text', () => {
    const raw = "Non-zero status code returned while running Gather node. Name:'ref_canvas.gathered' Status Message: indices element out of data bounds, idx=16777216 must be within the inclusive range [-16777216,16777215]";
    const shown = runFailure(new Error(raw), '/m/diffusion_models/flux.safetensors', 'dit', { img: Tensor.zeros([4096, 1024, 64]) }) as ModelRunError;
    expect(shown).toBeInstanceOf(ModelRunError);
    expect(shown.message).toBe(
      'The diffusion model (DiT) flux.safetensors failed on inputs img [4096, 1024, 64]: an index went out of range at these sizes; use a smaller batch_size or picture size (details in the server log).',
    );
    expect(shown.raw).toBe(raw);
    const oom = runFailure(new Error('[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : std::bad_alloc'), '/v.safetensors', 'vae_decoder', {}) as Error;
    expect(oom.message).toMatch(/VAE decoder v\.safetensors failed .*ran out of memory/);
    // Our own errors and interrupts pass through as they are.
    const own = new Error('The engine worker is being stopped; native inference is refused');
    expect(runFailure(own, '/x', 'dit', {})).toBe(own);
  });

  it('replace a real onnxruntime failure in ModelService.run and log the raw text', async () => {
    const lines: string[] = [];
    const service = createModelService({ modelsDir: host.env.modelsDir, cacheDir: `${host.root}/cache-errors`, registry: testRegistry(), log: (l) => lines.push(l) });
    try {
      const file = service.resolveFile('diffusion_models', 'test-dit.safetensors');
      // img with the wrong rank: onnxruntime refuses it.
      const run = service.run({ file, role: 'dit' }, { img: Tensor.zeros([1, 64]), img_ids: Tensor.zeros([1, 1, 3]), ref_img: Tensor.zeros([1, 0, 64]), ref_img_ids: Tensor.zeros([1, 0, 3]), txt: Tensor.zeros([1, 1, 8]), txt_ids: Tensor.zeros([1, 1, 3]), style: Tensor.zeros([1, 0, 8]), timesteps: Tensor.zeros([1]), guidance: Tensor.zeros([1]), y: Tensor.zeros([1, 6]) });
      await expect(run).rejects.toThrow(/^The diffusion model \(DiT\) test-dit\.safetensors failed on inputs img \[1, 64\], .* \(details in the server log\)\.$/);
      await expect(run).rejects.not.toThrow(/Invalid rank|status code/i);
      expect(lines.some((l) => /run failed: .*(Invalid rank|rank)/i.test(l))).toBe(true);
    } finally {
      await service.close();
    }
  });
});
