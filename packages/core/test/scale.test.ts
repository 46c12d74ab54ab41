/**
 * Diagnostics at scale: the pieces that were quadratic (yaml's duplicate-key check, a linear
 * search per located key, ajv's error gathering) are replaced; these tests hold the
 * replacements to the same answers, without timing anything.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseYamlSpec } from '../src/config/source.js';
import { validateSchema } from '../src/schema/validate.js';

describe('diagnostics of a large spec', () => {
  it('the compiled schema appends errors in place instead of copying them for every image', () => {
    const generated = readFileSync(new URL('../src/schema/validate.generated.js', import.meta.url), 'utf8');
    expect(generated).not.toContain('.concat(');
  });

  it('every image of 2,000 gets its own diagnostic at its own key', () => {
    const images = Array.from({ length: 2000 }, (_, i) => `  i${i}:\n    context: .\n    tgas: [x]\n`).join('');
    const parsed = parseYamlSpec('multiarch.yaml', `version: 1\nimages:\n${images}`);
    if (!parsed.ok) throw new Error('parse failed');
    const diagnostics = validateSchema(parsed.value);
    expect(diagnostics).toHaveLength(2000);
    diagnostics.forEach((d, i) => {
      expect(d.message).toBe(`unknown key "tgas" in images.i${i}`);
      expect(d.range?.start).toEqual({ line: 5 + 3 * i, col: 5 });
    });
  });

  it("finds duplicate keys where yaml's own check does, in block and flow mappings at any depth", () => {
    const texts = [
      'a: 1\na: 2\n',
      '{a: 1, b: 2, a: 3}\n',
      'x:\n  &k a: 1\n  a: 2\n',
      'x:\n  "a": 1\n  a: 2\n',
      '1: x\n"1": y\n',
      'l:\n  - {q: 1, q: 2}\n  - q: 1\n    r: 2\n    q: 3\n',
      '? a\n: 1\n? a\n: 2\n',
      'a: 1\nb: [\nc: 2\nc: 3\n',
      'a:\n  b: 1\n  b: 2\n  b: 3\nc: {d: [ {e: 1, e: 2} ]}\n',
    ];
    for (const text of texts) {
      const lines = new LineCounter();
      const theirs = parseDocument(text, { uniqueKeys: true, lineCounter: lines })
        .errors.filter((e) => e.code === 'DUPLICATE_KEY')
        .map((e) => lines.linePos(e.pos[0]));
      const parsed = parseYamlSpec('f.yaml', text);
      const ours = parsed.ok
        ? []
        : parsed.diagnostics.filter((d) => d.code === 'duplicate-key').map((d) => d.range?.start);
      expect(ours, text).toEqual(theirs);
    }
  });
});
