// The dashboard's build (scripts/web.sh): web/index.html + web/src into
// web/dist, beside the API reference in web/dist/api-docs (not emptied).
// Preact's JSX through esbuild's automatic runtime; no plugin needed.
import { defineConfig } from 'vite';

export default defineConfig({
  root: '.',
  publicDir: false,
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  resolve: {
    alias: { react: 'preact/compat', 'react-dom': 'preact/compat' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 4096,
    // No inline scripts or data: modules: the CSP allows 'self' only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
