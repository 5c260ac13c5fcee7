import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * `npm run dev -w packages/web` serves the console with hot reload and proxies the API (and the live-stream
 * WebSocket) to a hub on http://127.0.0.1:4000, or to SPYGLASS_HUB_URL.
 */
const hub = process.env.SPYGLASS_HUB_URL ?? 'http://127.0.0.1:4000';

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    proxy: {
      '/api': { target: hub, changeOrigin: false, ws: true },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
  },
});
