// The console is served by the gateway under /console/ (embedded in its binary): every asset URL starts
// there, and names carry a content hash, so the gateway can let browsers keep them.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  build: {
    target: 'es2020',
    // One small page: no source maps shipped inside the binary, no inlining of assets as data URLs.
    sourcemap: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 300,
  },
});
