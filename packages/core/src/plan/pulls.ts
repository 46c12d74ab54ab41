/**
 * Outside base images of per-arch builds: each copied once per host and platform to a name of
 * its own (`pull` tasks, shared by every build that needs it; `local-base` for localhost/
 * names, which come from containers-storage), and the builds pinned to the copies with
 * --build-context, so no two platforms' pulls move one local name under each other.
 *
 * Whether a pull is needed always, or only by the fallbacks of one build host, is known only
 * once every chain is planned: needs are collected, and the tasks made once, at the end.
 */
import type { Host, Image, Registry } from '../model/types.js';
import { platformSlug } from '../model/platform.js';
import { podmanOn } from './describe.js';
import { buildContextArgs, copyToStorageArgs, tagImageArgs } from './commands.js';
import type { Arg, PlanTask } from './types.js';

/** A build's need of one pull: always, or only if the fallback for `host`'s chain runs (after `after`). */
export type PullNeed = { always: true } | { always: false; host: string; after: readonly string[] };

interface Draft {
  id: string;
  reference: string;
  localStorage: boolean;
  host: Host;
  platform: string;
  localName: string;
  logins: readonly string[];
  needs: PullNeed[];
}

export class BasePulls {
  /** One per (reference, host, platform) however many builds use it, in the order first needed. */
  private readonly drafts = new Map<string, Draft>();

  constructor(
    private readonly registries: readonly Registry[],
    private readonly authfile: boolean,
  ) {}

  /** A per-arch build's outside images: the pulls it waits for, and the --build-context pins to their copies. */
  pin(
    image: Image,
    host: Host,
    platform: string,
    logins: readonly string[],
    need: PullNeed,
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
      const draft = this.drafts.get(id) ?? {
        id,
        reference,
        localStorage: localStorage === true,
        host,
        platform,
        localName,
        logins,
        needs: [],
      };
      draft.needs.push(need);
      this.drafts.set(id, draft);
      after.push(id);
      for (const name of spellings) contexts.push(...buildContextArgs(name, localName));
    }
    return { after, contexts };
  }

  /** The pull tasks, each once, in the order first needed. */
  tasks(): PlanTask[] {
    return [...this.drafts.values()].map((draft) => this.task(draft));
  }

  private task(draft: Draft): PlanTask {
    const gates = draft.needs.filter((n) => !n.always);
    const hosts = new Set(gates.map((n) => n.host));
    // Only fallbacks of one host need it: pulled only if that fallback runs. Otherwise always.
    const standIn =
      gates.length === draft.needs.length && hosts.size === 1
        ? { standIn: { host: [...hosts][0]!, after: gates.flatMap((n) => n.after) } }
        : {};
    const common = { image: null, platforms: [draft.platform], host: draft.host.name };
    const podman = podmanOn(draft.host);
    if (draft.localStorage)
      return {
        id: draft.id,
        kind: 'local-base',
        ...common,
        dependsOn: [],
        argv: tagImageArgs(podman, { ref: 'image-id' }, draft.localName),
        reference: draft.reference,
        localName: draft.localName,
        podman,
        ...standIn,
      };
    const registry = this.registries.find((r) => draft.reference.startsWith(`${r.url}/`));
    return {
      id: draft.id,
      kind: 'pull',
      ...common,
      dependsOn: [...draft.logins],
      argv: copyToStorageArgs(draft.reference, draft.platform, draft.localName, {
        authfile: this.authfile,
        tlsVerify: registry?.tlsVerify ?? true,
      }),
      source: draft.reference,
      ...standIn,
    };
  }
}

/**
 * `tasks` with `early` put in: each just before the first task that depends on it (or at the
 * end), so every task still comes after what it depends on. Order otherwise unchanged.
 */
export function insertBeforeDependents(tasks: readonly PlanTask[], early: readonly PlanTask[]): PlanTask[] {
  const before = new Map<number, PlanTask[]>();
  const wanted = new Map(early.map((t) => [t.id, t]));
  const placed = new Set<string>();
  tasks.forEach((task, index) => {
    for (const id of task.dependsOn) {
      const pull = wanted.get(id);
      if (!pull || placed.has(id)) continue;
      placed.add(id);
      before.set(index, [...(before.get(index) ?? []), pull]);
    }
  });
  const out: PlanTask[] = [];
  tasks.forEach((task, index) => out.push(...(before.get(index) ?? []), task));
  out.push(...early.filter((t) => !placed.has(t.id)));
  return out;
}
