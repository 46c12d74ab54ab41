import { DockerfileParser } from 'dockerfile-ast';
import { expandContainerfileString } from './variables.js';

/** An image a Containerfile pulls in: a FROM base or a COPY --from source. */
export interface ImageReference {
  /** As podman will see it: ARG defaults (nested ones too) and build args applied. */
  reference: string;
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
  const dockerfile = DockerfileParser.parse(text);
  const args = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    const property = arg.getProperty();
    const name = property?.getName();
    if (!name) continue;
    const given = buildArgs[name];
    const fallback = property?.getValue();
    const value = given ?? (fallback == null ? undefined : expandContainerfileString(fallback, (n) => args.get(n)));
    if (value !== undefined) args.set(name, value);
  }
  const expand = (raw: string) => expandContainerfileString(raw, (n) => args.get(n)).trim();

  const stages = new Set<string>();
  const references: ImageReference[] = [];
  const add = (raw: string, via: ImageReference['via'], range: { start: { line: number; character: number }; end: { character: number } }) => {
    const reference = expand(raw);
    const lower = reference.toLowerCase();
    if (reference === '' || lower === 'scratch' || stages.has(lower) || /^\d+$/.test(reference)) return;
    references.push({ reference, via, line: range.start.line + 1, col: range.start.character + 1, endCol: range.end.character + 1 });
  };

  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'FROM') {
      const from = instruction as ReturnType<typeof dockerfile.getFROMs>[number];
      const image = from.getImage();
      const range = from.getImageRange() ?? from.getRange();
      if (image) add(image, 'FROM', range);
      const stage = from.getBuildStage();
      if (stage) stages.add(stage.toLowerCase());
    } else if (keyword === 'COPY') {
      const flag = (instruction as { getFromFlag?: () => { getValue(): string | null } | null }).getFromFlag?.();
      const value = flag?.getValue();
      if (value) add(value, 'COPY --from', instruction.getRange());
    }
  }
  return references;
}

/** The repository part of a reference: no tag, no digest. */
export function repositoryOf(reference: string): string {
  const withoutDigest = reference.split('@')[0]!;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const lastColon = withoutDigest.lastIndexOf(':');
  return (lastColon > lastSlash ? withoutDigest.slice(0, lastColon) : withoutDigest).toLowerCase();
}

/** A name is fully qualified when its first component is a registry host (has "." or ":", or is localhost). */
export function isFullyQualified(name: string): boolean {
  const first = name.split('/')[0]!;
  return first.includes('.') || first.includes(':') || first === 'localhost';
}

/** What a short name means on Docker Hub, for the hint. */
export function qualifiedSuggestion(name: string): string {
  return name.includes('/') ? `docker.io/${name}` : `docker.io/library/${name}`;
}
