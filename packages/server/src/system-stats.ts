/** GET /system_stats in ComfyUI's shape, plus the execution providers the engine uses. */
import { freemem, platform, totalmem } from 'node:os';

export interface SystemStats {
  system: {
    os: string;
    ram_total: number;
    ram_free: number;
    comfyui_version: string;
    required_frontend_version: string;
    installed_templates_version: string | null;
    required_templates_version: string;
    python_version: string;
    pytorch_version: string;
    embedded_python: boolean;
    argv: string[];
    node_version: string;
    uso_studio_version: string;
    execution_providers: string[];
  };
  devices: { name: string; type: string; index: number | null; vram_total: number; vram_free: number; torch_vram_total: number; torch_vram_free: number }[];
}

export const SERVER_VERSION = '0.1.0';

export function systemStats(executionProviders: readonly string[]): SystemStats {
  const ramTotal = totalmem();
  const ramFree = freemem();
  return {
    system: {
      // Python's os.name, which ComfyUI reports.
      os: platform() === 'win32' ? 'nt' : 'posix',
      ram_total: ramTotal,
      ram_free: ramFree,
      // Clients gate features on a ComfyUI version; report the API level we speak.
      comfyui_version: '0.3.64',
      // ComfyUI 0.3.64's requirements.txt pins; ComfyUI's workflow-templates package is not installed here.
      required_frontend_version: '1.27.10',
      installed_templates_version: null,
      required_templates_version: '0.1.95',
      python_version: 'none (Node.js)',
      pytorch_version: 'none (onnxruntime)',
      embedded_python: false,
      argv: process.argv.slice(1),
      node_version: process.version,
      uso_studio_version: SERVER_VERSION,
      execution_providers: [...executionProviders],
    },
    devices: executionProviders.map((ep, index) => {
      const cpu = ep === 'cpu';
      return {
        name: cpu ? 'cpu' : ep,
        type: cpu ? 'cpu' : ep,
        index: cpu ? null : index,
        // Device memory is not observable from Node for GPU providers; CPU reports system RAM as ComfyUI does.
        vram_total: cpu ? ramTotal : 0,
        vram_free: cpu ? ramFree : 0,
        torch_vram_total: 0,
        torch_vram_free: 0,
      };
    }),
  };
}
