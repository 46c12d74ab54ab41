/**
 * Outside base images of per-arch builds: each copied once per host and platform to a name of
 * its own (`pull` tasks, shared by every build that needs it), and the builds pinned to the
 * copies with --build-context, so no two platforms' pulls move one local name under each other.
 */
import type { Host, Image, Registry } from '../model/types.js';
import { platformSlug } from '../model/platform.js';
import { podmanOn } from './describe.js';
import { buildContextArgs, copyToStorageArgs, tagImageArgs } from './commands.js';
import type { Arg, PlanTask } from './types.js';

export class BasePulls {
  /** One per (reference, host, platform) however many builds use it. */
  private readonly pulls = new Map<string, PlanTask>();

  constructor(
    private readonly registries: readonly Registry[],
    private readonly authfile: boolean,
    private readonly add: (task: PlanTask) => string,
  ) {}

  /**
   * A per-arch build's outside images, each copied once per host and platform to a name of
   * its own (`pull` tasks, shared by every build that needs it) and pinned with
   * --build-context: no two platforms' pulls move one local name under each other.
   */
  pin(
    image: Image,
    host: Host,
    platform: string,
    logins: readonly string[],
    standIn?: { host: string; after: string[] },
  ): { after: string[]; contexts: Arg[] } {
    const after: string[] = [];
    const contexts: Arg[] = [];
    for (const { reference, spellings, localStorage } of image.pulls) {
      // registry:5000/repo:tag (or @sha256:d) -> localhost/orchestrate/pulled/registry-5000/repo/tag:linux-arm64
      const path = reference
        .replace('@', '/')
        .replace(/:(?=[^/]*$)/, '/')
        .replace(/[^a-z0-9._/-]/gi, '-')
        .toLowerCase();
      const localName = `localhost/orchestrate/pulled/${path}:${platformSlug(platform)}`;
      const id = `pull:${reference}@${host.name}:${platform}`;
      const existing = this.pulls.get(id);
      if (!existing) {
        const registry = this.registries.find((r) => reference.startsWith(`${r.url}/`));
        const common = {
          id,
          image: null,
          platforms: [platform],
          host: host.name,
          // Only a fallback needs it: pulled only if that fallback runs.
          ...(standIn && { standIn: { host: standIn.host, after: [...standIn.after] } }),
        };
        const podman = podmanOn(host);
        const pull: PlanTask = localStorage
          ? {
              ...common,
              kind: 'local-base',
              dependsOn: [],
              argv: tagImageArgs(podman, { ref: 'image-id' }, localName),
              reference,
              localName,
              podman,
            }
          : {
              ...common,
              kind: 'pull',
              dependsOn: [...logins],
              argv: copyToStorageArgs(reference, platform, localName, {
                authfile: this.authfile,
                tlsVerify: registry?.tlsVerify ?? true,
              }),
              source: reference,
            };
        this.add(pull);
        this.pulls.set(id, pull);
      } else if (existing.standIn && (!standIn || standIn.host !== existing.standIn.host)) {
        delete existing.standIn; // needed unconditionally (or by fallbacks of two hosts): always pulled
      } else if (existing.standIn && standIn) {
        existing.standIn.after.push(...standIn.after);
      }
      after.push(id);
      for (const name of spellings) contexts.push(...buildContextArgs(name, localName));
    }
    return { after, contexts };
  }
}
