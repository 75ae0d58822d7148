import { describe, expect, it } from 'vitest';
import { HttpError, errorBody } from './http-error.ts';
import { systemStats } from './system-stats.ts';

describe('systemStats', () => {
  it('reports RAM, providers and one device per provider', () => {
    const s = systemStats(['cuda', 'cpu']);
    expect(s.system.ram_total).toBeGreaterThan(0);
    expect(s.system.execution_providers).toEqual(['cuda', 'cpu']);
    expect(s.devices.map((d) => d.type)).toEqual(['cuda', 'cpu']);
    expect(s.devices[1]!.vram_total).toBe(s.system.ram_total);
  });

  it("has ComfyUI 0.3.64's system fields: os as Python's os.name, frontend and templates versions", () => {
    const s = systemStats(['cpu']).system;
    expect(s.os).toBe(process.platform === 'win32' ? 'nt' : 'posix');
    expect(s).toMatchObject({ comfyui_version: '0.3.64', required_frontend_version: '1.27.10', installed_templates_version: null, required_templates_version: '0.1.95' });
  });
});

describe('HttpError', () => {
  it('carries ComfyUI’s error shape', () => {
    const e = new HttpError(429, 'full');
    expect(e.body).toEqual({ error: { type: 'queue_full', message: 'full', details: '', extra_info: {} } });
    expect(errorBody(404, 'x')).toEqual({ error: { type: 'not_found', message: 'x', details: '', extra_info: {} } });
  });
});
