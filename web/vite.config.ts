/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The build goes into the Python package (ironworks/web_dist/), which `ironworks serve`
// serves at /console/ (ironworks/api/console.py). `npm run dev` proxies the API to a local
// `ironworks serve` on :6385.
const api = process.env.IRONWORKS_URL ?? "http://127.0.0.1:6385";

export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: {
    outDir: "../ironworks/web_dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: { "/api": api, "/v1": api },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test-setup.ts"],
    testTimeout: 60_000, // Ant Design in jsdom is slow on a busy 2-core machine
  },
});
