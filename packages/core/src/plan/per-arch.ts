/**
 * Per-arch images: one chain per platform (base images, build, smoke test, push by digest),
 * each on the host that builds it, and the list assembled here from the pushed digests. A
 * platform on a build host with `fallback: emulate` gets a second chain here, under QEMU,
 * that runs only if that host fails, standing in for the first.
 */
import { placePlatform } from '../model/placement.js';
import { canEmulate, platformSlug } from '../model/platform.js';
import type { Host, Image, Model, Registry } from '../model/types.js';
import {
  addToListArgs,
  buildImageArgs,
  createListArgs,
  pushImageArgs,
  withRunValue,
  type BuildInput,
  type RegistryAccess,
} from './commands.js';
import { podmanOn, timeoutOf } from './describe.js';
import type { Cleanups } from './cleanups.js';
import type { PublishSteps } from './publish.js';
import type { BasePulls, PullNeed } from './pulls.js';
import type { Arg, PlanTask } from './types.js';
import { byCodePoint } from '../util/order.js';

/** What building an image left behind. */
export interface Built {
  /** The image's list, if one was made: on which host, complete after which task. */
  list?: { host: Host; ready: string };
  /** Whether that list can stand in for the image in a build on its host (its instances are in that host's storage). */
  usableLocally: boolean;
  tests: string[];
}

/**
 * Whether a chain is a platform's own, or the fallback here for a build host's chain: then
 * its ids end in "@fallback" and each task stands in for its counterpart there, running only
 * if that host failed and `after` (the host's chain) did not all succeed.
 */
export type ChainRole = { kind: 'own' } | { kind: 'fallback'; host: string; after: readonly string[] };
export const OWN: ChainRole = { kind: 'own' };

export function roleId(role: ChainRole, id: string): string {
  return role.kind === 'fallback' ? `${id}@fallback` : id;
}

/** The standIn field of a task of a fallback chain, standing in for `counterpart`. */
export function gate(role: ChainRole, counterpart: string): Pick<PlanTask, 'standIn'> {
  return role.kind === 'fallback' ? { standIn: { host: role.host, for: counterpart, after: [...role.after] } } : {};
}

function pullNeed(role: ChainRole): PullNeed {
  return role.kind === 'fallback' ? { always: false, host: role.host, after: role.after } : { always: true };
}

/** What the chains need of the planner that makes them. */
export interface ChainSteps extends PublishSteps {
  local: Host & { kind: 'local' };
  model: Model;
  notes: Set<string>;
  cleanups: Cleanups;
  basePulls: BasePulls;
  loginsOn(host: Host): string[];
  dependencyInputs(image: Image, host: Host): { after: string[]; contexts: Arg[] };
  remoteInput(image: Image, host: Host, input: BuildInput): { input: BuildInput; after: string[] };
  reset(image: Image, host: Host, list: string): string;
  smokeTest(image: Image, platform: string, host: Host, reference: Arg, build: string, role: ChainRole): string[];
  /** Per-arch: the push task whose digest the image's list holds for `platform`. */
  recordPush(image: string, platform: string, push: string): void;
}

/**
 * One build per platform, each on its own host. With a registry, each is pushed by digest
 * to a run-unique staging tag and the list is assembled here from those digests. Without
 * one, images get stable local names (nothing to race on in a registry) and the list is
 * assembled from local storage, when every platform was built here.
 */
export function perArchChains(
  steps: ChainSteps,
  image: Image,
  input: BuildInput,
  list: string,
  primary: Registry | undefined,
): Built {
  const tests: string[] = [];
  const instances: { platform: string; instance: Arg; after: string }[] = [];
  for (const platform of image.platforms) {
    const placement = placePlatform(steps.model.hosts, image, platform)!;
    const chain = platformChain(
      steps,
      image,
      input,
      platform,
      placement.host,
      { placement: placement.reason, emulated: placement.emulated },
      primary,
      OWN,
    );
    tests.push(...chain.tests);
    if (chain.push !== undefined && primary) {
      const repository = `${primary.url}/${image.repository}`;
      instances.push({
        platform,
        instance: withRunValue({ ref: 'digest', task: chain.push }, `docker://${repository}@`),
        after: chain.push,
      });
      steps.recordPush(image.name, platform, chain.push);
    } else if (!primary && placement.host.kind === 'local') {
      instances.push({ platform, instance: `containers-storage:${localName(image, platform)}`, after: chain.build });
    }
    const host = placement.host;
    if (host.kind === 'ssh' && host.fallback === 'emulate' && steps.local.emulate && canEmulate(platform)) {
      // The same platform again, here under QEMU, gated on the host failing: it stands in for the remote chain.
      const after = [chain.build, ...chain.tests, ...(chain.push === undefined ? [] : [chain.push])];
      // Dependents name the remote tasks; when a stand-in succeeds they go on with its result.
      platformChain(
        steps,
        image,
        input,
        platform,
        steps.local,
        { placement: `fallback here under QEMU emulation`, emulated: true },
        primary,
        { kind: 'fallback', host: host.name, after },
      );
    }
  }
  if (instances.length < image.platforms.length) {
    steps.notes.add(
      `${image.name} is not pushed in this run, so its remote builds stay on their hosts and no list is assembled`,
    );
    return { usableLocally: false, tests };
  }

  const reset = steps.reset(image, steps.local, list);
  let last = steps.add({
    id: `assemble:${image.name}`,
    kind: 'assemble',
    image: image.name,
    platforms: [],
    host: 'local',
    dependsOn: [reset],
    argv: createListArgs('podman', list),
  });
  // In platform order, whatever order the spec names them in: a list's digest depends on its content only.
  instances.sort((a, b) => byCodePoint(a.platform, b.platform));
  // One `manifest add` at a time: each rewrites the list in local storage.
  const access: RegistryAccess = primary ? steps.access(primary) : { authfile: false, tlsVerify: true };
  for (const { platform, instance, after } of instances) {
    last = steps.add({
      id: `assemble:${image.name}:${platform}`,
      kind: 'assemble',
      image: image.name,
      platforms: [platform],
      host: 'local',
      dependsOn: [last, after, ...(primary ? steps.login(primary, steps.local) : [])],
      argv: addToListArgs('podman', list, instance, access),
      ...(primary && { repository: `${primary.url}/${image.repository}` }),
    });
  }
  // A list of registry digests is for pushing, not for building FROM: dependents get the staged digest.
  return { list: { host: steps.local, ready: last }, usableLocally: !primary, tests };
}

/**
 * One platform of a per-arch image on one host: its base images, the build, the smoke test,
 * and the push by digest. With `standIn`, the tasks are the fallback for a remote host's
 * chain (ids end in "@fallback"), each standing in for its counterpart there.
 */
function platformChain(
  steps: ChainSteps,
  image: Image,
  input: BuildInput,
  platform: string,
  host: Host,
  where: { placement: string; emulated: boolean },
  primary: Registry | undefined,
  role: ChainRole,
): { build: string; tests: string[]; push?: string } {
  const slug = platformSlug(platform);
  const stable = localName(image, platform);
  const localImage = primary ? withRunValue({ ref: 'run-id' }, `${stable}-`) : stable;
  const dependencies = steps.dependencyInputs(image, host);
  const logins = steps.loginsOn(host);
  const pinned = steps.basePulls.pin(image, host, platform, logins, pullNeed(role));
  const remote = steps.remoteInput(image, host, input);
  const buildId = `build:${image.name}:${platform}`;
  const build = steps.add({
    id: roleId(role, buildId),
    kind: 'build',
    image: image.name,
    platforms: [platform],
    host: host.name,
    dependsOn: [...logins, ...dependencies.after, ...pinned.after, ...remote.after],
    argv: buildImageArgs(
      podmanOn(host),
      { ...remote.input, contexts: [...dependencies.contexts, ...pinned.contexts] },
      platform,
      localImage,
      primary ? stable : undefined,
    ),
    placement: where.placement,
    ...(where.emulated && { emulated: [platform] }),
    ...timeoutOf(image),
    ...gate(role, buildId),
  });
  const tests = steps.smokeTest(image, platform, host, localImage, build, role);
  if (!primary) return { build, tests };
  const repository = `${primary.url}/${image.repository}`;
  const pushId = `push:${image.name}:${platform}`;
  const push = steps.add({
    id: roleId(role, pushId),
    kind: 'push',
    image: image.name,
    platforms: [platform],
    host: host.name,
    // On a build host, the push waits for the smoke test: were the host lost between them, the
    // list must not keep its untested digest while the fallback's tested one goes unused.
    dependsOn: [build, ...(host.kind === 'ssh' ? tests : []), ...steps.login(primary, host)],
    argv: pushImageArgs(
      podmanOn(host),
      localImage,
      withRunValue({ ref: 'run-id' }, `docker://${repository}:orchestrate-stage-${slug}-`),
      steps.access(primary),
    ),
    repository,
    ...gate(role, pushId),
  });
  steps.cleanups.later(host, image.name, localImage, [...tests, push]);
  return { build, tests, push };
}

/** A per-arch image's stable local name for one platform (its cache anchor when pushed). */
export function localName(image: Image, platform: string): string {
  return `localhost/orchestrate/${image.repository}:${platformSlug(platform)}`;
}
