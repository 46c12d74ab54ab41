import { describe, expect, it } from 'vitest';
import { expandContainerfileString, expandSpecString, resolveVariables } from '../src/model/variables.js';

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
    expect(problems).toEqual([{ name: 'A', kind: 'cycle', detail: 'A -> B -> A' }]);
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
