import { describe, expect, it } from 'vitest';
import {
  EXPANSION_LIMITS,
  expandContainerfileString,
  expandSpecString,
  resolveVariables,
} from '../src/model/variables.js';

describe('expandSpecString', () => {
  const lookup = (values: Record<string, string>) => (name: string) => values[name];

  it('replaces ${NAME} and uses the default only when unset or empty', () => {
    expect(expandSpecString('v-${TAG}', lookup({ TAG: '1.2' })).value).toBe('v-1.2');
    expect(expandSpecString('${TAG:-dev}', lookup({})).value).toBe('dev');
    expect(expandSpecString('${TAG:-dev}', lookup({ TAG: '' })).value).toBe('dev');
    expect(expandSpecString('${TAG:-dev}', lookup({ TAG: 'x' })).value).toBe('x');
  });

  it('expands variables inside defaults', () => {
    expect(expandSpecString('${A:-${B}-x}', lookup({ B: 'b' })).value).toBe('b-x');
  });

  it('reports undefined names with the text that referred to them', () => {
    const result = expandSpecString('a ${MISSING} b', lookup({}));
    expect(result.undefinedNames).toEqual([{ name: 'MISSING', text: '${MISSING}' }]);
  });

  it('treats $${ as a literal ${', () => {
    expect(expandSpecString('$${NOT}', lookup({ NOT: 'x' })).value).toBe('${NOT}');
  });

  it('records every name it looked up', () => {
    expect(expandSpecString('${A:-${B}}', lookup({})).referenced).toEqual(['A', 'B']);
  });
});

describe('resolveVariables', () => {
  it('lets the environment win over the file', () => {
    const { values } = resolveVariables({ TAG: 'file' }, { TAG: 'env' });
    expect(values.get('TAG')).toBe('env');
  });

  it('resolves file variables that refer to the environment and to each other', () => {
    const { values, problems } = resolveVariables({ TAG: '${GIT_SHA:-dev}', IMAGE: 'app:${TAG}' }, { GIT_SHA: 'abc' });
    expect(values.get('IMAGE')).toBe('app:abc');
    expect(problems).toEqual([]);
  });

  it('reports a cycle once, with its path', () => {
    const { problems } = resolveVariables({ A: '${B}', B: '${A}' }, {});
    expect(problems).toEqual([{ name: 'A', kind: 'cycle', detail: 'A -> B -> A', unusable: ['A'] }]);
  });
});

describe('expansion limits', () => {
  const nested = (depth: number) => {
    let text = 'x';
    for (let i = 0; i < depth; i++) text = `\${A:-${text}}`;
    return text;
  };
  const chain = (length: number) =>
    Object.fromEntries(Array.from({ length }, (_, i) => [`V${i}`, i === length - 1 ? 'end' : `\${V${i + 1}}`]));

  it('expands defaults nested up to the depth limit, and stops past it at the reference that crosses it', () => {
    expect(expandSpecString(nested(EXPANSION_LIMITS.depth), () => undefined)).toMatchObject({ value: 'x' });
    const deep = expandSpecString(nested(15_000), () => undefined);
    expect(deep.overLimit?.kind).toBe('depth');
    expect(deep.overLimit?.text).toBe(nested(15_000 - EXPANSION_LIMITS.depth));
  });

  it('stops a value at the length limit', () => {
    const big = 'y'.repeat(EXPANSION_LIMITS.length / 2 + 1);
    const result = expandSpecString('${A}${A}', () => big);
    expect(result.overLimit).toEqual({ kind: 'length', text: '${A}' });
    expect(result.value).toBe('');
  });

  it('stops once the spec-wide budget is spent, across expansions', () => {
    const budget = { left: 10 };
    expect(expandSpecString('${A}', () => 'abcdefgh', budget).overLimit).toBeUndefined();
    expect(expandSpecString('${A}', () => 'abcdefgh', budget).overLimit?.kind).toBe('total');
  });

  it('costs linear time for many unclosed "${"', () => {
    const started = performance.now();
    const text = '${'.repeat(300_000);
    expect(expandSpecString(text, () => undefined).value).toBe(text);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('resolves a chain of variables as deep as the limit', () => {
    const { values, problems } = resolveVariables(chain(EXPANSION_LIMITS.depth), {});
    expect(problems).toEqual([]);
    expect(values.get('V0')).toBe('end');
  });

  it('reports a chain of 2000 variables once, where it crosses the depth limit, and every variable of it unusable', () => {
    const { problems } = resolveVariables(chain(2000), {});
    expect(problems).toHaveLength(1);
    const [problem] = problems;
    const last = EXPANSION_LIMITS.depth - 1;
    expect(problem).toMatchObject({ name: `V${last}`, kind: 'depth', detail: `\${V${last + 1}` });
    expect(new Set(problem!.unusable)).toEqual(new Set(Object.keys(chain(2000))));
  });

  it('reports variables that double at each step once, at the length limit', () => {
    const doubling: Record<string, string> = { V0: 'abcdefgh' };
    for (let i = 1; i < 60; i++) doubling[`V${i}`] = `\${V${i - 1}}\${V${i - 1}}`;
    const { problems } = resolveVariables(doubling, {});
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ name: 'V14', kind: 'length' });
    expect(problems[0]!.unusable).toContain('V59');
  });
});

describe('expandContainerfileString', () => {
  const args = new Map([
    ['REG', 'docker.io'],
    ['EMPTY', ''],
  ]);
  const lookup = (name: string) => args.get(name);
  it('follows the Containerfile rules for $A, ${A}, ${A:-x} and ${A:+x}', () => {
    expect(expandContainerfileString('$REG/library/alpine', lookup)).toBe('docker.io/library/alpine');
    expect(expandContainerfileString('${NOPE:-quay.io}/x', lookup)).toBe('quay.io/x');
    expect(expandContainerfileString('${EMPTY:-fallback}', lookup)).toBe('fallback');
    expect(expandContainerfileString('${REG:+set}', lookup)).toBe('set');
    expect(expandContainerfileString('${NOPE:+set}', lookup)).toBe('');
  });
});

describe('nesting and tracing', () => {
  const lookup = (values: Record<string, string>) => (name: string) => values[name];
  it('expands defaults nested to any depth', () => {
    expect(expandSpecString('X=${A:-${B:-${C:-v}}}', lookup({})).value).toBe('X=v');
    expect(expandSpecString('X=${A:-${B:-${C:-v}}}', lookup({ C: 'c' })).value).toBe('X=c');
  });

  it('leaves what is not a variable reference as written', () => {
    expect(expandSpecString('${1} ${A:+x} ${unterminated', lookup({ A: 'a' })).value).toBe(
      '${1} ${A:+x} ${unterminated',
    );
  });

  it('records every name a variable reads, through other variables', () => {
    const { reads } = resolveVariables({ V: '${W}', W: 'x-${TOKEN}' }, {});
    expect([...(reads.get('V') ?? [])].sort()).toEqual(['TOKEN', 'W']);
  });
});
