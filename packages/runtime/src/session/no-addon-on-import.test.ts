import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

describe('importing @uso-studio/runtime', () => {
  it('does not load the onnxruntime addon until a session is needed', () => {
    // A fresh process records every native addon it opens; the server's main thread relies on this staying empty
    // of onnxruntime, since inference there would block it.
    const index = fileURLToPath(new URL('../index.ts', import.meta.url));
    const script = `
      const opened = [];
      const dlopen = process.dlopen;
      process.dlopen = (module, file, ...rest) => { opened.push(file); return dlopen(module, file, ...rest); };
      await import(${JSON.stringify(index)});
      const afterImport = opened.filter((f) => f.includes('onnxruntime')).length;
      const { loadOrt } = await import(${JSON.stringify(index)});
      await loadOrt();
      console.log(JSON.stringify({ afterImport, afterLoad: opened.filter((f) => f.includes('onnxruntime')).length }));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { afterImport: number; afterLoad: number };
    expect(result.afterImport).toBe(0);
    expect(result.afterLoad).toBeGreaterThan(0);
  });
});
