import { describe, expect, it } from 'vitest';
import { dockerNormalised, imageReferences, isFullyQualified, repositoryOf } from '../src/model/containerfile.js';

const refs = (text: string, args: Record<string, string> = {}) =>
  imageReferences(text, args).map((r) => `${r.via} ${r.reference} @${r.line}:${r.col}`);

describe('imageReferences', () => {
  it('resolves nested ARG defaults in FROM, with build args overriding them', () => {
    const text = 'ARG REG=docker.io\nARG BASE=${REG}/acme/base\nARG TAG=dev\nFROM ${BASE}:${TAG}\n';
    expect(refs(text)).toEqual(['FROM docker.io/acme/base:dev @4:6']);
    expect(refs(text, { REG: 'localhost:5000', TAG: 'v2' })).toEqual(['FROM localhost:5000/acme/base:v2 @4:6']);
    expect(refs(text, { BASE: 'quay.io/x/y' })).toEqual(['FROM quay.io/x/y:dev @4:6']);
  });

  it('ignores stage names, stage indexes and scratch; keeps COPY --from images', () => {
    const text = [
      'FROM docker.io/library/golang:1.22 AS build',
      'FROM build AS test',
      'FROM scratch',
      'COPY --from=build /out /out',
      'COPY --from=0 /a /a',
      'COPY --from=ghcr.io/acme/tools:1 /t /t',
      'FROM --platform=$BUILDPLATFORM docker.io/library/alpine:3',
    ].join('\n');
    expect(refs(text)).toEqual([
      'FROM docker.io/library/golang:1.22 @1:6',
      'COPY --from ghcr.io/acme/tools:1 @6:1',
      'FROM docker.io/library/alpine:3 @7:32',
    ]);
  });

  it('follows line continuations and ignores comments', () => {
    expect(refs('# FROM not/this\nFROM \\\n  docker.io/library/busybox\n')).toEqual([
      'FROM docker.io/library/busybox @3:3',
    ]);
  });

  it('only global ARGs (before the first FROM) are in scope of FROM', () => {
    expect(
      refs('FROM docker.io/library/busybox\nARG LATE=quay.io/x\nFROM ${LATE:-docker.io/library/alpine}\n'),
    ).toEqual(['FROM docker.io/library/busybox @1:6', 'FROM docker.io/library/alpine @3:6']);
  });
});

describe('names', () => {
  it('strips tags and digests, but not registry ports', () => {
    expect(repositoryOf('localhost:5000/a/b:v1')).toBe('localhost:5000/a/b');
    expect(repositoryOf('docker.io/a/b@sha256:abc')).toBe('docker.io/a/b');
    expect(repositoryOf('localhost:5000/a/b')).toBe('localhost:5000/a/b');
  });

  it('knows a fully qualified name from a short one', () => {
    expect(isFullyQualified('docker.io/library/alpine')).toBe(true);
    expect(isFullyQualified('localhost/app')).toBe(true);
    expect(isFullyQualified('localhost:5000/app')).toBe(true);
    expect(isFullyQualified('alpine')).toBe(false);
    expect(isFullyQualified('acme/app')).toBe(false);
  });

  it('reads names as Docker does: short names and index.docker.io are docker.io', () => {
    expect(dockerNormalised('acme/base:1.2')).toBe('docker.io/acme/base:1.2');
    expect(dockerNormalised('alpine')).toBe('docker.io/library/alpine');
    expect(dockerNormalised('index.docker.io/acme/base')).toBe('docker.io/acme/base');
    expect(dockerNormalised('docker.io/alpine:3')).toBe('docker.io/library/alpine:3');
    expect(dockerNormalised('quay.io/jupyter/base-notebook')).toBe('quay.io/jupyter/base-notebook');
    expect(dockerNormalised('localhost/base')).toBe('localhost/base');
  });
});
