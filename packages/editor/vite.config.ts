import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

// The dev server forwards the API and WebSocket to a running USO Studio server (USO_SERVER, default :8188).
const server = process.env.USO_SERVER ?? 'http://127.0.0.1:8188';

export default defineConfig({
  plugins: [svelte()],
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1500 },
  server: {
    proxy: {
      '/api': { target: server, ws: true },
      '/ws': { target: server.replace(/^http/, 'ws'), ws: true },
    },
  },
});
