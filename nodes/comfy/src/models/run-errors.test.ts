import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { RunInterruptedError, SessionProcessExitError, Tensor } from '@uso-studio/runtime';
import { makeTestHost, testRegistry } from '../test-support.ts';
import { createModelService } from './model-service.ts';
import { ModelRunError, loadFailure, runFailure } from './run-errors.ts';

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

  it('say why a session could not be opened, and what an ended onnxruntime process means; interrupts pass through', () => {
    const raw = 'Cannot load model /d/cache/graphs/ab12.onnx: [ONNXRuntimeError] : 1 : FAIL : Load model from /d/cache/graphs/ab12.onnx failed:Protobuf parsing failed.';
    const open = loadFailure(new Error(raw), '/m/vae/ae.safetensors', 'vae_decoder') as ModelRunError;
    expect(open).toBeInstanceOf(ModelRunError);
    expect(open.message).toBe("onnxruntime could not open the VAE decoder ae.safetensors: the file may be damaged or not what its name says; check it with `uso-studio models inspect` (details in the server log).");
    expect(open.raw).toBe(raw);
    expect((loadFailure(new Error('[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : std::bad_alloc'), '/t5.safetensors', 't5') as Error).message).toMatch(/T5 text encoder t5\.safetensors: it ran out of memory while loading/);
    const killed = runFailure(new SessionProcessExitError('/d/cache/graphs/ab12.onnx', 'SIGKILL', null), '/m/flux1-dev.safetensors', 'dit', { img: Tensor.zeros([1, 4096, 64]) }) as ModelRunError;
    expect(killed.message).toBe(
      'The diffusion model (DiT) flux1-dev.safetensors stopped on inputs img [1, 4096, 64]: its onnxruntime process was killed (SIGKILL; most likely the system ran out of memory); use a smaller batch_size or picture size, or free memory (details in the server log).',
    );
    const interrupted = new RunInterruptedError('/d/cache/graphs/ab12.onnx');
    expect(runFailure(interrupted, '/m/flux1-dev.safetensors', 'dit', {})).toBe(interrupted);
    expect(loadFailure(interrupted, '/m/flux1-dev.safetensors', 'dit')).toBe(interrupted);
  });

  it('keep an isolated session usable: an interrupt stays an interrupt, a killed process is reported and replaced', async () => {
    const lines: string[] = [];
    const service = createModelService({ modelsDir: host.env.modelsDir, cacheDir: `${host.root}/cache-isolated-errors`, registry: testRegistry(), log: (l) => lines.push(l), isolateRunsAboveBytes: 0 });
    try {
      const file = service.resolveFile('diffusion_models', 'test-dit.safetensors');
      const feeds = (tokens: number) => ({ img: Tensor.zeros([1, tokens, 64]), img_ids: Tensor.zeros([1, tokens, 3]), ref_img: Tensor.zeros([1, 0, 64]), ref_img_ids: Tensor.zeros([1, 0, 3]), txt: Tensor.zeros([1, 1, 8]), txt_ids: Tensor.zeros([1, 1, 3]), style: Tensor.zeros([1, 0, 8]), timesteps: Tensor.zeros([1]), guidance: Tensor.zeros([1]), y: Tensor.zeros([1, 6]) });
      await service.run({ file, role: 'dit' }, feeds(1)); // the session's process is up
      // A long run (attention over 60,000 tokens), stopped as soon as it is in flight: still an abort, not a failure.
      const long = service.run({ file, role: 'dit' }, feeds(60_000));
      while (service.pool.interruptRuns() === 0) await new Promise((r) => setTimeout(r, 5));
      await expect(long).rejects.toMatchObject({ name: 'AbortError' });
      expect((await service.run({ file, role: 'dit' }, feeds(1))).velocity!.shape).toEqual([1, 1, 64]);

      // The process killed from outside (as the out-of-memory killer does): the run says so, the next one works.
      const children = execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' }).split('\n').filter(Boolean);
      const host_ = children.filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('isolated-session-host'));
      expect(host_).toHaveLength(1);
      process.kill(Number(host_[0]), 'SIGKILL');
      // Reaped (Node reaps and reports the exit in one step), so the session has seen its process end.
      while (existsSync(`/proc/${host_[0]}`)) await new Promise((r) => setTimeout(r, 5));
      await expect(service.run({ file, role: 'dit' }, feeds(1))).rejects.toThrow(
        /^The diffusion model \(DiT\) test-dit\.safetensors stopped on inputs img \[1, 1, 64\], .*killed \(SIGKILL; most likely the system ran out of memory\)/,
      );
      expect(lines.some((l) => /run failed: The onnxruntime process of .* ended unexpectedly \(SIGKILL\)/.test(l))).toBe(true);
      expect((await service.run({ file, role: 'dit' }, feeds(1))).velocity!.shape).toEqual([1, 1, 64]);
    } finally {
      await service.close();
    }
  });
});
