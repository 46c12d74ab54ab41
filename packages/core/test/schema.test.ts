import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { schemaHash } from '../src/schema/validate.generated.js';

const schemaText = readFileSync(new URL('../../../schemas/multiarch.schema.json', import.meta.url), 'utf8');
const schema = JSON.parse(schemaText) as Record<string, unknown>;

describe('schemas/multiarch.schema.json', () => {
  it('is what the generated validator was compiled from (rebuild after editing the schema)', () => {
    expect(schemaHash).toBe(createHash('sha256').update(schemaText).digest('hex'));
  });

  it('compiles under ajv strict mode', () => {
    expect(() => new Ajv({ strict: true, allowUnionTypes: true }).compile(schema)).not.toThrow();
  });

  it('describes every property, so editors show hover help', () => {
    const undocumented: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (node === null || typeof node !== 'object') return;
      const record = node as Record<string, unknown>;
      for (const [key, child] of Object.entries((record['properties'] as Record<string, unknown> | undefined) ?? {})) {
        const c = child as Record<string, unknown>;
        const ref = typeof c['$ref'] === 'string' ? c['$ref'].split('/').pop()! : undefined;
        const target = ref ? ((schema['definitions'] as Record<string, Record<string, unknown>>)[ref] ?? {}) : {};
        if (!c['description'] && !target['description']) undocumented.push(`${path}.${key}`);
        walk(child, `${path}.${key}`);
      }
      for (const [name, definition] of Object.entries(
        (record['definitions'] as Record<string, unknown> | undefined) ?? {},
      ))
        walk(definition, `#${name}`);
    };
    walk(schema, '');
    expect(undocumented).toEqual([]);
  });

  it('closes every object, so a typo is an error and not a silently ignored key', () => {
    const open: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (node === null || typeof node !== 'object') return;
      const record = node as Record<string, unknown>;
      if (record['type'] === 'object' && record['properties'] && record['additionalProperties'] !== false)
        open.push(path);
      for (const [key, child] of Object.entries(record)) walk(child, `${path}/${key}`);
    };
    walk(schema, '#');
    expect(open).toEqual([]);
  });
});
