import path from 'node:path/posix';
import type { Result } from '../diagnostics.js';
import { canEmulate, platformSlug, samePlatformFamily } from '../model/platform.js';
import type { Host, Image, Model, Registry } from '../model/types.js';
import {
  addToListArgs,
  buildImageArgs,
  buildListArgs,
  copyListArgs,
  createListArgs,
  inspectRawArgs,
  loginArgs,
  pushImageArgs,
  pushListArgs,
  removeImagesArgs,
  removeListArgs,
  smokeTestArgs,
  withRunValue,
  type BuildInput,
  type RegistryAccess,
} from './commands.js';
import { selectImages } from './select.js';
import { PLAN_FORMAT_VERSION, type Arg, type Plan, type PlanHost, type PlanImage, type PlanRegistry, type PlanTask } from './types.js';

export interface PlanOptions {
  /** `--image`: only these and what they depend on. */
  images?: readonly string[];
  /** `--platform`: only these platforms; narrowed images do not publish. */
  platforms?: readonly string[];
  /** false with `--no-push`: build and test only. */
  push?: boolean;
}

/** What building an image left: the task after which its list exists, its smoke tests, and the host holding the list. */
interface Built {
  listReady: string;
  tests: string[];
  listHost: Host;
}

interface Placement {
  host: Host;
  placement: string;
  emulated: boolean;
}

/** Where an image's result can be found once built, for images that depend on it. */
interface Availability {
  /** Task after which the image is in the storage of host `at` (as its list name). */
  local: string;
  at: string;
  /** Task after which it is in the registry (staged by digest), if it publishes. */
  registry?: string;
}

/**
 * The pure planner: model in, plan out. No I/O and no clock, so the same spec gives the
 * same plan byte for byte. Tasks are created in an order where each comes after its
 * dependencies, and that order is the plan's.
 */
export function planBuild(model: Model, options: PlanOptions = {}): Result<Plan> {
  const push = options.push ?? true;
  const selection = selectImages(model, options.images ?? [], options.platforms ?? []);
  if (!selection.ok) return selection;

  const planner = new Planner(model, push);
  for (const image of selection.value.images) planner.addImage(image, selection.value.narrowed.has(image.name));
  planner.addCleanups();

  const images: Record<string, PlanImage> = {};
  for (const image of selection.value.images) images[image.name] = planner.describe(image);
  const plan: Plan = {
    formatVersion: PLAN_FORMAT_VERSION,
    spec: model.file,
    cwd: path.dirname(model.file.replaceAll('\\', '/')),
    localPlatform: model.localPlatform,
    filters: { images: [...(options.images ?? [])], platforms: [...(options.platforms ?? [])], push },
    registries: Object.fromEntries(model.registries.map((r) => [r.name, describeRegistry(r)])),
    hosts: Object.fromEntries(model.hosts.map((h) => [h.name, describeHost(h)])),
    images,
    tasks: planner.tasks,
    notes: [...selection.value.notes, ...planner.notes],
  };
  return { ok: true, value: plan, diagnostics: selection.diagnostics };
}

class Planner {
  readonly tasks: PlanTask[] = [];
  /** Said once each, however many tasks give rise to them. */
  readonly notes = new Set<string>();
  private readonly logins = new Set<string>();
  private readonly hostLogins = new Map<string, string[]>();
  private readonly available = new Map<string, Availability>();
  private readonly publishes = new Map<string, string[]>();
  /** Per host, local per-run images to remove at the end and the tasks that must finish first. */
  private readonly cleanups = new Map<string, { image: string; host: Host; images: Arg[]; after: string[] }>();
  private readonly publishTasks = new Map<string, string[]>();
  private readonly placements = new Map<string, Placement>();
  /** Images whose local list refers to their per-arch images in local storage: those stay. */
  private readonly keepLocalImages = new Set<string>();
  private readonly local: Host & { kind: 'local' };
  private readonly authfile: boolean;

  constructor(
    private readonly model: Model,
    private readonly push: boolean,
  ) {
    this.local = model.hosts.find((h): h is Host & { kind: 'local' } => h.kind === 'local')!;
    // Only when the run talks to registries the spec has credentials for does it keep its own
    // authfile; otherwise (no credentials, or --no-push) podman's own default login applies.
    this.authfile = push && model.registries.some((r) => r.auth.kind !== 'none');
  }

  private add(task: Omit<PlanTask, 'retry'> & { retry?: PlanTask['retry'] }): string {
    task.retry ??= 'never';
    this.tasks.push(task as PlanTask);
    return task.id;
  }

  private access(registry: Registry): RegistryAccess {
    return { authfile: this.authfile, tlsVerify: registry.tlsVerify };
  }

  /** The login a host needs before it talks to a registry, created once per (registry, host). */
  private login(registry: Registry, host: Host): string[] {
    if (!this.push || registry.auth.kind !== 'password-env') return [];
    const id = `login:${registry.name}@${host.name}`;
    if (!this.logins.has(id)) {
      this.logins.add(id);
      if (host.kind === 'ssh' && /^(localhost|127\.|\[::1\])/.test(registry.server)) {
        this.notes.add(`${host.name} talks to registry ${registry.name} at ${registry.server}: on ${host.name}, that is ${host.name} itself, not this machine`);
      }
      this.add({
        id, kind: 'login', image: null, platforms: [], host: host.name, dependsOn: [],
        argv: loginArgs(podmanOn(host), registry.server, registry.auth.username, registry.tlsVerify),
        stdin: { env: registry.auth.passwordEnv },
        retry: 'registry',
      });
    }
    return [id];
  }

  /** Every login a host needs before it builds (a build may pull from any registry of the spec). */
  private loginsOn(host: Host): string[] {
    let ids = this.hostLogins.get(host.name);
    if (!ids) {
      ids = this.model.registries.flatMap((r) => this.login(r, host));
      this.hostLogins.set(host.name, ids);
    }
    return ids;
  }

  private registriesOf(image: Image): Registry[] {
    return this.model.registries.filter((r) => image.registries.includes(r.name));
  }

  /** What the image's builds on `host` wait for: its dependencies, where that host can reach them. */
  private dependencyTasks(image: Image, host: Host): string[] {
    return image.dependsOn.flatMap((name) => {
      const availability = this.available.get(name);
      if (!availability) return [];
      if (availability.at === host.name) return [availability.local];
      if (availability.registry) return [availability.registry];
      this.notes.add(`${image.name} builds on ${host.name} but ${name} is not pushed in this run, so ${host.name} cannot get it from this run`);
      return [availability.local];
    });
  }

  addImage(image: Image, narrowed: boolean): void {
    const registries = this.push && !narrowed ? this.registriesOf(image) : [];
    const list = listName(image, registries[0]);
    const input: BuildInput = { containerfile: image.containerfile, context: image.context, buildArgs: image.buildArgs, target: image.target, authfile: this.authfile };

    const pinned = image.host === undefined ? undefined : this.model.hosts.find((h) => h.name === image.host);
    const built = image.strategy === 'manifest-first'
      ? this.manifestFirst(image, input, list, pinned ?? this.local)
      : this.perArch(image, input, list, registries, pinned);
    const local = built.listReady;
    if (registries.length === 0) {
      this.available.set(image.name, { local, at: built.listHost.name });
      this.publishes.set(image.name, []);
      if (this.push && !narrowed && image.registries.length === 0) this.notes.add(`${image.name} names no registry: it is built and tested, not published`);
      return;
    }

    // Stage the whole list under a tag unique to the run, verify it, and only then move final tags.
    const verified: string[] = [];
    let staged: string | undefined;
    for (const registry of registries) {
      const repository = `${registry.url}/${image.repository}`;
      // The list is pushed from the host it was built or assembled on.
      const stageId = this.add({
        id: `stage:${image.name}@${registry.name}`, kind: 'stage', image: image.name, platforms: image.platforms, host: built.listHost.name,
        dependsOn: [local, ...built.tests, ...this.login(registry, built.listHost)],
        argv: pushListArgs(podmanOn(built.listHost), list, withRunValue({ ref: 'run-id' }, `docker://${repository}:orchestrate-stage-`), this.access(registry)),
        retry: 'registry',
      });
      staged ??= stageId;
      verified.push(this.add({
        id: `verify:${image.name}@${registry.name}`, kind: 'verify', image: image.name, platforms: image.platforms, host: 'local',
        dependsOn: [stageId],
        argv: inspectRawArgs(withRunValue({ ref: 'digest', task: stageId }, `docker://${repository}@`), this.access(registry)),
        expect: { platforms: image.platforms },
        retry: 'registry',
      }));
    }
    const references: string[] = [];
    const publishIds: string[] = [];
    for (const registry of registries) {
      const repository = `${registry.url}/${image.repository}`;
      for (const tag of image.tags) {
        references.push(`${repository}:${tag}`);
        publishIds.push(this.add({
          id: `publish:${image.name}@${registry.name}:${tag}`, kind: 'publish', image: image.name, platforms: image.platforms, host: 'local',
          // Every registry verified before any tag moves: a failure leaves all tags as they were.
          dependsOn: verified,
          argv: copyListArgs(withRunValue({ ref: 'digest', task: `stage:${image.name}@${registry.name}` }, `docker://${repository}@`), `docker://${repository}:${tag}`, this.access(registry)),
          retry: 'registry',
        }));
      }
    }
    this.publishTasks.set(image.name, publishIds);
    this.available.set(image.name, { local, at: built.listHost.name, ...(staged && { registry: staged }) });
    this.publishes.set(image.name, references);
  }

  private manifestFirst(image: Image, input: BuildInput, list: string, host: Host): Built {
    const logins = this.loginsOn(host); // first, so logins lead the plan
    const emulated = image.platforms.filter((p) => !host.platforms.some((n) => samePlatformFamily(n, p)));
    const reset = this.add({
      id: `reset:${image.name}`, kind: 'reset', image: image.name, platforms: [], host: host.name, dependsOn: [],
      argv: removeListArgs(podmanOn(host), list), tolerate: 'missing',
    });
    const where = host.kind === 'local' ? 'here' : `on ${host.name}`;
    const build = this.add({
      id: `build:${image.name}`, kind: 'build', image: image.name, platforms: image.platforms, host: host.name,
      dependsOn: [reset, ...logins, ...this.dependencyTasks(image, host)],
      argv: buildListArgs(podmanOn(host), input, image.platforms, list, Math.max(1, Math.min(image.platforms.length, host.jobs))),
      placement: emulated.length === 0 ? `all native ${where}` : `${where}, ${emulated.join(', ')} under QEMU emulation`,
      ...(emulated.length > 0 && { emulated }),
    });
    const tests = image.platforms.flatMap((platform) => this.smokeTest(image, platform, host, list, build));
    return { listReady: build, tests, listHost: host };
  }

  private perArch(image: Image, input: BuildInput, list: string, registries: Registry[], pinned: Host | undefined): Built {
    const primary = registries[0];
    const tests: string[] = [];
    const instances: { platform: string; instance: Arg; push?: string }[] = [];
    for (const platform of image.platforms) {
      const { host, placement, emulated } = pinned ? this.onHost(pinned, platform) : this.placePlatform(platform);
      const slug = platformSlug(platform);
      const localImage = withRunValue({ ref: 'run-id' }, `localhost/orchestrate/${image.repository}:${slug}-`);
      const build = this.add({
        id: `build:${image.name}:${platform}`, kind: 'build', image: image.name, platforms: [platform], host: host.name,
        dependsOn: [...this.loginsOn(host), ...this.dependencyTasks(image, host)],
        argv: buildImageArgs(podmanOn(host), input, platform, localImage),
        placement,
        ...(emulated && { emulated: [platform] }),
      });
      const test = this.smokeTest(image, platform, host, localImage, build);
      tests.push(...test);
      const readers = [...test];
      if (primary) {
        const repository = `${primary.url}/${image.repository}`;
        const pushId = this.add({
          id: `push:${image.name}:${platform}`, kind: 'push', image: image.name, platforms: [platform], host: host.name,
          dependsOn: [build, ...this.login(primary, host)],
          argv: pushImageArgs(podmanOn(host), localImage, withRunValue({ ref: 'run-id' }, `docker://${repository}:orchestrate-stage-${slug}-`), this.access(primary)),
          retry: 'registry',
        });
        readers.push(pushId);
        instances.push({ platform, instance: withRunValue({ ref: 'digest', task: pushId }, `docker://${repository}@`), push: pushId });
      } else if (host.kind === 'local') {
        this.keepLocalImages.add(image.name);
        instances.push({ platform, instance: withRunValue({ ref: 'run-id' }, `containers-storage:localhost/orchestrate/${image.repository}:${slug}-`) });
      }
      this.cleanupLater(host, image.name, localImage, readers.length > 0 ? readers : [build]);
    }
    if (instances.length < image.platforms.length) {
      this.notes.add(`${image.name} is not pushed in this run, so its remote builds stay on their hosts and no list is assembled`);
      return { listReady: tests.at(-1) ?? `build:${image.name}:${image.platforms[0]}`, tests, listHost: this.local };
    }

    const reset = this.add({
      id: `reset:${image.name}`, kind: 'reset', image: image.name, platforms: [], host: 'local', dependsOn: [],
      argv: removeListArgs('podman', list), tolerate: 'missing',
    });
    let last = this.add({
      id: `assemble:${image.name}`, kind: 'assemble', image: image.name, platforms: [], host: 'local',
      dependsOn: [reset],
      argv: createListArgs('podman', list),
    });
    // One `manifest add` at a time: each rewrites the list in local storage.
    for (const { platform, instance, push } of instances) {
      last = this.add({
        id: `assemble:${image.name}:${platform}`, kind: 'assemble', image: image.name, platforms: [platform], host: 'local',
        dependsOn: [last, ...(push ? [push] : [`build:${image.name}:${platform}`]), ...(primary ? this.login(primary, this.local) : [])],
        argv: primary ? addToListArgs('podman', list, instance, this.access(primary)) : ['podman', 'manifest', 'add', list, instance],
        retry: primary ? 'registry' : 'never',
      });
    }
    return { listReady: last, tests, listHost: this.local };
  }

  /** A platform built on the host the image names: natively if it runs it, else under QEMU there. */
  private onHost(host: Host, platform: string): Placement {
    const where = host.kind === 'local' ? 'here' : `on ${host.name}`;
    if (host.platforms.some((p) => samePlatformFamily(p, platform))) return { host, placement: `native ${where} (image's host)`, emulated: false };
    return { host, placement: `${where} under QEMU emulation (image's host)`, emulated: true };
  }

  /** A declared host that builds the platform natively, else here (natively or under QEMU); the same for every image. */
  private placePlatform(platform: string): Placement {
    let placed = this.placements.get(platform);
    if (!placed) {
      placed = this.findPlacement(platform);
      this.placements.set(platform, placed);
    }
    return placed;
  }

  private findPlacement(platform: string): Placement {
    const remote = this.model.hosts.find((h) => h.kind === 'ssh' && h.platforms.some((p) => samePlatformFamily(p, platform)));
    if (remote && remote.kind === 'ssh') {
      const fallback = remote.fallback === 'emulate' && canEmulate(platform) ? `; falls back to QEMU here if ${remote.name} fails` : '';
      return { host: remote, placement: `native on ${remote.name}${fallback}`, emulated: false };
    }
    if (this.local.platforms.some((p) => samePlatformFamily(p, platform))) return { host: this.local, placement: 'native here', emulated: false };
    return { host: this.local, placement: `here under QEMU emulation: no host builds ${platform} natively`, emulated: true };
  }

  private smokeTest(image: Image, platform: string, host: Host, reference: Arg, build: string): string[] {
    if (!image.test) return [];
    const output = image.test.expect[platform];
    return [this.add({
      id: `test:${image.name}:${platform}`, kind: 'test', image: image.name, platforms: [platform], host: host.name,
      dependsOn: [build],
      argv: smokeTestArgs(podmanOn(host), platform, reference, image.test.command),
      ...(output !== undefined && { expect: { output } }),
    })];
  }

  /** Remember a per-run image on a host, and the tasks that read it, for the cleanup at the end. */
  private cleanupLater(host: Host, image: string, localImage: Arg, readers: readonly string[]): void {
    const key = `${image}@${host.name}`;
    const entry = this.cleanups.get(key) ?? { image, host, images: [], after: [] };
    entry.images.push(localImage);
    entry.after.push(...readers);
    this.cleanups.set(key, entry);
  }

  /** Per-arch images are removed from each host once everything that reads them, and the publish, is done. */
  addCleanups(): void {
    for (const [key, entry] of this.cleanups) {
      if (this.keepLocalImages.has(entry.image)) continue;
      this.add({
        id: `cleanup:${key}`, kind: 'cleanup', image: entry.image, platforms: [], host: entry.host.name,
        dependsOn: [...entry.after, ...(this.publishTasks.get(entry.image) ?? [])],
        argv: removeImagesArgs(podmanOn(entry.host), entry.images),
      });
    }
  }

  describe(image: Image): PlanImage {
    return { strategy: image.strategy, platforms: image.platforms, publishes: this.publishes.get(image.name) ?? [], dependsOn: image.dependsOn };
  }
}

/** The local list is named as the image's first final reference, so dependents' FROM lines find it locally. */
function listName(image: Image, registry: Registry | undefined): string {
  const tag = image.tags[0] ?? 'latest';
  return registry ? `${registry.url}/${image.repository}:${tag}` : `localhost/${image.repository}:${tag}`;
}

function podmanOn(host: Host): string {
  return host.kind === 'ssh' ? host.podman : 'podman';
}

function describeRegistry(registry: Registry): PlanRegistry {
  const auth = registry.auth.kind === 'password-env' ? (`env:${registry.auth.passwordEnv}` as const) : registry.auth.kind;
  return { url: registry.url, server: registry.server, tlsVerify: registry.tlsVerify, auth };
}

function describeHost(host: Host): PlanHost {
  if (host.kind === 'local') return { kind: 'local', jobs: host.jobs, platforms: host.platforms, emulate: host.emulate };
  return {
    kind: 'ssh', jobs: host.jobs, platforms: host.platforms,
    ...(host.ssh && { address: `${host.ssh.user}@${host.ssh.host}:${host.ssh.port}` }),
    ...(host.connection !== undefined && { connection: host.connection }),
    fallback: host.fallback,
  };
}
