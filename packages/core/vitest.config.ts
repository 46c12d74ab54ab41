import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Property tests spawn real shells and processes: on a loaded 2-core CI machine a case can
  // pass 5 s. Time is not what they test (benchmarks under bench/ measure speed).
  test: { include: ['test/**/*.test.ts'], testTimeout: 30_000 },
});
