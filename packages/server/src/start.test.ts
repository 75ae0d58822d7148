import { describe, expect, it } from 'vitest';
import { parseServeArgs } from './start.ts';

describe('parseServeArgs', () => {
  it('maps ComfyUI flag names to options', () => {
    expect(
      parseServeArgs(['--listen', '0.0.0.0', '--port', '9000', '--data', '/d', '--auth-token', 't', '--extra-packs', '/a.ts,/b.ts', '--max-queue', '5', '--max-upload-mb', '2', '--requeue-interrupted']),
    ).toEqual({ listen: '0.0.0.0', port: 9000, dataDir: '/d', authToken: 't', extraPacks: ['/a.ts', '/b.ts'], maxQueue: 5, maxUploadBytes: 2 * 1024 * 1024, requeueInterrupted: true });
    expect(parseServeArgs([])).toEqual({});
    expect(parseServeArgs(['--auth-token-file', '/t'])).toEqual({ authTokenFile: '/t' });
    expect(parseServeArgs(['--allowed-origins', 'http://localhost:5173'])).toEqual({ allowedOrigins: ['http://localhost:5173'] });
    expect(parseServeArgs(['--execution-provider', 'cuda'])).toEqual({ executionProvider: 'cuda' });
    expect(parseServeArgs(['--cache-lru', '50'])).toEqual({ cache: { policy: 'lru', maxEntries: 50 } });
    expect(parseServeArgs(['--cache-ram-mb', '2048'])).toEqual({ cache: { policy: 'ram', maxBytes: 2048 * 1024 * 1024 } });
    // ComfyUI's --preview-method values; without the flag no option is set and previews stay off (ComfyUI's none).
    for (const method of ['auto', 'latent2rgb', 'taesd', 'none']) expect(parseServeArgs(['--preview-method', method])).toEqual({ previewMethod: method });
  });

  it('refuses bad values and unknown flags with a message', () => {
    expect(() => parseServeArgs(['--port', '70000'])).toThrow(/--port must be an integer/);
    expect(() => parseServeArgs(['--port', 'abc'])).toThrow(/--port/);
    expect(() => parseServeArgs(['--bogus'])).toThrow();
    expect(() => parseServeArgs(['--cache-lru', '5', '--cache-ram-mb', '5'])).toThrow(/either --cache-lru or --cache-ram-mb/);
    expect(() => parseServeArgs(['--cache-lru', '0'])).toThrow(/--cache-lru must be an integer/);
    expect(() => parseServeArgs(['--execution-provider', 'tpu'])).toThrow(/--execution-provider must be one of cpu, cuda, webgpu, got 'tpu'/);
    expect(() => parseServeArgs(['--preview-method', 'fast'])).toThrow(/--preview-method must be one of .*got 'fast'/);
  });
});
