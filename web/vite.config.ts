import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// In development the API runs apart: `IMPRINT_API=http://127.0.0.1:8080 npm run dev`.
const api = process.env.IMPRINT_API ?? 'http://127.0.0.1:8080';
const proxy = {
  '/graphql': { target: api, ws: true, changeOrigin: false },
  '/payouts': { target: api, changeOrigin: false },
};

export default defineConfig({
  plugins: [react()],
  build: { target: 'es2022', sourcemap: false },
  server: { proxy },
  preview: { proxy },
  test: { include: ['src/**/*.test.ts'] },
});
