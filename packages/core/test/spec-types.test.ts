import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('src/model/spec.generated.ts', () => {
  it('is what schemas/multiarch.schema.json gives (run the build after editing the schema)', async () => {
    const { specTypes } = (await import(new URL('../scripts/spec-types.mjs', import.meta.url).href)) as {
      specTypes: () => Promise<string>;
    };
    expect(readFileSync(new URL('../src/model/spec.generated.ts', import.meta.url), 'utf8')).toBe(await specTypes());
  });
});
