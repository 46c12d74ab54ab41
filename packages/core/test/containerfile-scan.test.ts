import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseContainerfile, scanSimpleContainerfile } from '../src/model/containerfile.js';

/** Lines that make the scanner's life hard: continuations, comments, stages, flags, case, indentation. */
const LINES = [
  'ARG REG=docker.io',
  'ARG BASE=${REG}/acme/base',
  'ARG A B=quay.io/x',
  'ARG TAG',
  'ARG TAG=dev',
  'FROM ${BASE}:${TAG} AS build',
  'from docker.io/library/alpine:3',
  'FROM build',
  'FROM build AS second',
  'FROM scratch',
  'FROM --platform=$BUILDPLATFORM docker.io/library/golang:1.22 AS tools',
  '  FROM   docker.io/library/indented',
  'FROM ${NOPE:-localhost/fallback}',
  'FROM $REG/library/busybox',
  'FROM ${B}/multi-arg-line',
  'COPY --from=build /a /b',
  'COPY --chown=1:1 --from=quay.io/acme/tools:1 /t /t',
  'copy --from=0 /a /a',
  'COPY a b',
  'RUN echo one \\',
  '    FROM not-an-instruction \\',
  '# FROM a comment',
  '',
  'RUN echo "FROM quoted" && echo \'x\'',
  'ENV FROM=docker.io/x',
  'FROM "docker.io/quoted"',
  'ARG Q="a b"',
  'FROM docker.io/split \\',
  '  AS split',
  'RUN <<EOF',
  'FROM inside-heredoc',
  'EOF',
  '\tFROM docker.io/tabbed',
  'FROM docker.io/crlf\r',
];

const ARGS = fc.dictionary(
  fc.constantFrom('REG', 'BASE', 'TAG', 'A', 'NOPE'),
  fc.constantFrom('localhost:5000', 'ghcr.io/acme/base', 'v2', ''),
  { maxKeys: 2 },
);

describe('scanSimpleContainerfile', () => {
  it('agrees with dockerfile-ast on every file it does not decline', () => {
    let scanned = 0;
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...LINES), { maxLength: 12 }), ARGS, (lines, args) => {
        const text = lines.join('\n') + '\n';
        const fast = scanSimpleContainerfile(text, args);
        if (fast === undefined) return;
        scanned++;
        expect(fast).toEqual(parseContainerfile(text, args));
      }),
      { numRuns: 2000, seed: 42 },
    );
    // Most files must take the fast path, or it speeds nothing up.
    expect(scanned).toBeGreaterThan(300);
  });

  it('declines heredocs, escape directives, quotes and instructions split over lines', () => {
    expect(scanSimpleContainerfile('FROM docker.io/x\nRUN <<EOF\nFROM y\nEOF\n', {})).toBeUndefined();
    expect(scanSimpleContainerfile('# escape=`\nFROM docker.io/x\n', {})).toBeUndefined();
    expect(scanSimpleContainerfile('ARG A="x y"\nFROM docker.io/x\n', {})).toBeUndefined();
    expect(scanSimpleContainerfile('FROM \\\n  docker.io/x\n', {})).toBeUndefined();
  });

  it('agrees with dockerfile-ast on the examples', () => {
    const root = new URL('../../../examples/', import.meta.url).pathname;
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const file = path.join(dir, name);
        if (statSync(file).isDirectory()) walk(file);
        else if (/^(Containerfile|Dockerfile)/.test(name)) files.push(file);
      }
    };
    walk(root);
    expect(files.length).toBeGreaterThanOrEqual(9);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const fast = scanSimpleContainerfile(text, {});
      expect(fast, file).toBeDefined();
      expect(fast).toEqual(parseContainerfile(text, {}));
    }
  });
});
