import { createRequire } from 'node:module';
import { expandContainerfileString } from './variables.js';

/** dockerfile-ast is the reference parser; loaded only for files the line scanner declines. */
const loadParser = (): typeof import('dockerfile-ast') =>
  createRequire(import.meta.url)('dockerfile-ast') as typeof import('dockerfile-ast');

/** An image a Containerfile pulls in: a FROM base or a COPY --from source. */
export interface ImageReference {
  /** As podman will see it: ARG defaults (nested ones too) and build args applied. */
  reference: string;
  /** As written in the file, before ARG expansion: buildah 1.28 matches --build-context names against this text. */
  written: string;
  via: 'FROM' | 'COPY --from';
  /** 1-based position of the instruction. */
  line: number;
  col: number;
  endCol: number;
}

/**
 * The external images a Containerfile refers to. Global ARGs (those before the first
 * FROM) are in scope for FROM, as in podman; build args override their defaults.
 * Stage names, stage indexes and `scratch` are not images and are left out.
 */
export function imageReferences(text: string, buildArgs: Readonly<Record<string, string>>): ImageReference[] {
  return scanSimpleContainerfile(text, buildArgs) ?? parseContainerfile(text, buildArgs);
}

/** With dockerfile-ast: continuation lines, heredocs, escape directives, quoting, all of it. */
export function parseContainerfile(text: string, buildArgs: Readonly<Record<string, string>>): ImageReference[] {
  const dockerfile = loadParser().DockerfileParser.parse(text);
  const args = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    // getProperties(), not getProperty(): ARG A=1 B=2 declares two. dockerfile-ast reads
    // `ARG A B=1` the legacy ENV way (A = "B=1"); for ARG, Docker reads A, then B=1.
    for (const property of arg.getProperties()) {
      const declared =
        property.getAssignmentOperator() === null && property.getValue() !== null
          ? [
              [property.getName(), null] as const,
              ...(property.getValue() ?? '').split(/\s+/).map((token) => splitAssignment(token)),
            ]
          : [[property.getName(), property.getValue()] as const];
      for (const [name, fallback] of declared) {
        if (!name) continue;
        const value =
          buildArgs[name] ?? (fallback == null ? undefined : expandContainerfileString(fallback, (n) => args.get(n)));
        if (value !== undefined) args.set(name, value);
      }
    }
  }
  const expand = (raw: string) => expandContainerfileString(raw, (n) => args.get(n)).trim();

  const collector = new ReferenceCollector(expand);
  const add = (
    raw: string,
    via: ImageReference['via'],
    range: { start: { line: number; character: number }; end: { character: number } },
  ) => collector.add(raw, via, range.start.line + 1, range.start.character + 1, range.end.character + 1);

  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'FROM') {
      // dockerfile-ast gives FROM instructions as From instances, typed as the Instruction they extend.
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
      const from = instruction as ReturnType<typeof dockerfile.getFROMs>[number];
      const image = from.getImage();
      const range = from.getImageRange() ?? from.getRange();
      if (image) add(image, 'FROM', range);
      const stage = from.getBuildStage();
      if (stage) collector.stage(stage);
    } else if (keyword === 'COPY') {
      // Not getFromFlag(): it answers only when --from is the one flag (COPY --chown=x --from=y is missed).
      const flags =
        (instruction as { getFlags?: () => { getName(): string; getValue(): string | null }[] }).getFlags?.() ?? [];
      const value = flags.find((flag) => flag.getName() === 'from')?.getValue();
      if (value) add(value, 'COPY --from', instruction.getRange());
    }
  }
  return collector.references;
}

function splitAssignment(token: string): readonly [string, string | null] {
  const eq = token.indexOf('=');
  return eq < 0 ? [token, null] : [token.slice(0, eq), token.slice(eq + 1)];
}

/** Stage names seen so far, and the references that are images rather than stages. */
class ReferenceCollector {
  readonly references: ImageReference[] = [];
  private readonly stages = new Set<string>();
  constructor(private readonly expand: (raw: string) => string) {}

  stage(name: string): void {
    this.stages.add(name.toLowerCase());
  }

  add(raw: string, via: ImageReference['via'], line: number, col: number, endCol: number): void {
    const reference = this.expand(raw);
    const lower = reference.toLowerCase();
    if (reference === '' || lower === 'scratch' || this.stages.has(lower) || /^\d+$/.test(reference)) return;
    this.references.push({ reference, written: raw.trim(), via, line, col, endCol });
  }
}

/**
 * The same answer as parseContainerfile for the common, simple file, about ten times faster
 * (a monorepo plans hundreds of these). Declines (undefined) whatever it does not handle
 * exactly: heredocs, parser directives, quotes in ARG/FROM/COPY, and ARG/FROM/COPY
 * instructions that span lines. A differential test holds it to dockerfile-ast.
 */
export function scanSimpleContainerfile(
  text: string,
  buildArgs: Readonly<Record<string, string>>,
): ImageReference[] | undefined {
  if (text.includes('<<') || /^\s*#\s*(?:escape|syntax|check)\s*=/im.test(text)) return undefined;
  const args = new Map<string, string>();
  const collector = new ReferenceCollector((raw) => expandContainerfileString(raw, (n) => args.get(n)).trim());
  const lines = text.split('\n');
  let seenFrom = false;
  let continued = false;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.replace(/\r$/, '');
    const trimmed = line.trim();
    const continues = /\\\s*$/.test(line);
    if (continued) {
      // Inside an instruction that goes on from an earlier line; comment lines there are dropped.
      if (trimmed !== '' && !trimmed.startsWith('#')) continued = continues;
      continue;
    }
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    continued = continues;
    const match = /^(\s*)(\S+)(\s+)(.*)$/.exec(line);
    const keyword = (match?.[2] ?? trimmed).toUpperCase();
    if (keyword !== 'ARG' && keyword !== 'FROM' && keyword !== 'COPY') continue;
    if (continues || !match || /["'`]/.test(match[4]!)) return undefined;
    const [, indent, word, gap, rest] = match as unknown as [string, string, string, string, string];
    const restStart = indent.length + word.length + gap.length;
    const tokens = [...rest.matchAll(/\S+/g)].map((m) => ({ text: m[0], col: restStart + m.index + 1 }));
    if (keyword === 'ARG') {
      if (seenFrom) continue;
      for (const { text: token } of tokens) {
        const eq = token.indexOf('=');
        const name = eq < 0 ? token : token.slice(0, eq);
        const given = buildArgs[name];
        const value =
          given ?? (eq < 0 ? undefined : expandContainerfileString(token.slice(eq + 1), (n) => args.get(n)));
        if (value !== undefined) args.set(name, value);
      }
    } else if (keyword === 'FROM') {
      seenFrom = true;
      const operands = tokens.filter((t) => !t.text.startsWith('--'));
      const image = operands[0];
      if (!image) continue;
      collector.add(image.text, 'FROM', index + 1, image.col, image.col + image.text.length);
      if (operands.length >= 3 && operands[1]!.text.toUpperCase() === 'AS') collector.stage(operands[2]!.text);
    } else {
      const from = tokens.find((t) => t.text.startsWith('--from='));
      if (from && from.text.length > '--from='.length) {
        collector.add(
          from.text.slice('--from='.length),
          'COPY --from',
          index + 1,
          indent.length + 1,
          line.trimEnd().length + 1,
        );
      }
    }
  }
  return collector.references;
}

/** The repository part of a reference: no tag, no digest. */
export function repositoryOf(reference: string): string {
  const withoutDigest = reference.split('@')[0]!;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const lastColon = withoutDigest.lastIndexOf(':');
  return (lastColon > lastSlash ? withoutDigest.slice(0, lastColon) : withoutDigest).toLowerCase();
}

/**
 * A reference as Docker normalises it, split: `acme/base:1` -> docker.io/acme/base and tag
 * "1"; `alpine` -> docker.io/library/alpine; `index.docker.io/...` -> docker.io/... Only the
 * name is lower-cased (tags are case-sensitive). The name of a spec's image, whatever spelling
 * of Docker Hub its FROM line uses, is then one string to compare.
 */
export function normalizeReference(reference: string): { name: string; tag?: string; digest?: string } {
  const at = reference.indexOf('@');
  const digest = at >= 0 ? reference.slice(at + 1) : undefined;
  const withoutDigest = at >= 0 ? reference.slice(0, at) : reference;
  const name = repositoryOf(withoutDigest);
  const tag = name.length < withoutDigest.length ? withoutDigest.slice(name.length + 1) : undefined;
  return { name: normalizeName(name), ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** A repository name (no tag) as Docker normalises it; see normalizeReference. */
export function normalizeName(name: string): string {
  return dockerNormalised(name).toLowerCase();
}

/** `localhost/NAME` is podman's name for an image of local storage: never pulled from a registry (localhost:5000/... is one). */
export function isLocalStorageName(reference: string): boolean {
  return reference.toLowerCase().startsWith('localhost/');
}

/**
 * An image name is fully qualified when it has a registry host before its first "/" (a
 * component with "." or ":", or localhost); `alpine:3.20` has a tag, not a host.
 */
export function isFullyQualified(name: string): boolean {
  const slash = name.indexOf('/');
  return slash > 0 && isRegistryHost(name.slice(0, slash));
}

/** `docker.io`, `localhost:5000`, `localhost`: what can stand first in a fully qualified name. */
export function isRegistryHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

/**
 * A name as Docker, BuildKit and skopeo's docker transport read it: `acme/base` is
 * `docker.io/acme/base`, `alpine` is `docker.io/library/alpine`, and `index.docker.io` is
 * `docker.io`. Other fully qualified names are left as they are.
 */
export function dockerNormalised(name: string): string {
  if (!isFullyQualified(name)) return qualifiedSuggestion(name);
  const match = /^(?:index\.|registry-1\.)?docker\.io\/(.*)$/i.exec(name);
  if (!match) return name;
  const rest = match[1]!;
  return rest.includes('/') ? `docker.io/${rest}` : `docker.io/library/${rest}`;
}

/** What a short name means on Docker Hub, for the hint. */
export function qualifiedSuggestion(name: string): string {
  return name.includes('/') ? `docker.io/${name}` : `docker.io/library/${name}`;
}
