import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// The gateway serves dist/ at `/`; during `pnpm --filter @booking/web dev` the API is proxied to a local gateway.
export default defineConfig({
  plugins: [preact()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: { proxy: { '/api': process.env.GATEWAY_URL ?? 'http://localhost:3000' } },
});
