import { defineConfig } from "vitest/config";

// The app serves the build from src/sugang/web/dist: index.html at "/" and the
// content-hashed files under /assets/ (cached for a year).
export default defineConfig({
  build: {
    outDir: "../src/sugang/web/dist",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2020",
  },
  server: { proxy: { "/api": "http://127.0.0.1:8000", "/metrics": "http://127.0.0.1:8000" } },
  test: { include: ["tests/**/*.test.ts"], environment: "node" },
});
