import path from 'node:path/posix';
import type { Result } from '../diagnostics.js';
import { placePlatform } from '../model/placement.js';
import type { Host, Image, Model, Registry } from '../model/types.js';
import {
  buildContextArgs,
  buildListArgs,
  loginArgs,
  removeImageArgs,
  removeListArgs,
  smokeTestArgs,
  unpackContextArgs,
  withRunValue,
  type BuildInput,
  type RegistryAccess,
} from './commands.js';
import { describeHost, describeRegistry, listName, podmanOn, timeoutOf } from './describe.js';
import { selectImages } from './select.js';
import { PLAN_FORMAT_VERSION, type Arg, type Plan, type PlanImage, type PlanTask } from './types.js';
import { Cleanups } from './cleanups.js';
import { publishChain, type PublishSteps } from './publish.js';
import { BasePulls, insertBeforeDependents } from './pulls.js';
import { PlanSecrets } from './secrets.js';
import { gate, OWN, perArchChains, roleId, type Built, type ChainSteps } from './per-arch.js';
import { uploadLayout } from './upload.js';

export interface PlanOptions {
  /** `--image`: only these and what they depend on. */
  images?: readonly string[];
  /** `--platform`: only these platforms; narrowed images do not publish. */
  platforms?: readonly string[];
  /** false with `--no-push`: build and test only. */
  push?: boolean;
  /** The files the model was read from, with their hashes (see plan-file.ts): recorded, not read, here. */
  inputs?: Readonly<Record<string, string>>;
  /** Input hashes per image and platform (exec/input-files.ts computes them): recorded, not computed, here. */
  imageInputs?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** Where dependents find an image built in this run. */
interface Availability {
  /** In the storage of `host` as `reference` once `ready` is done. */
  local?: { host: string; ready: string; reference: string };
  /** In the registry, by the digest the `stage` task pushed. */
  registry?: { stage: string; repository: string };
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
  const tasks = planner.finish();

  const images: Record<string, PlanImage> = {};
  for (const image of selection.value.images) {
    const described = planner.describe(image);
    const hashes = options.imageInputs?.[image.name];
    // Only the platforms planned: a narrowing --platform leaves the others out.
    images[image.name] = hashes
      ? {
          ...described,
          inputs: Object.fromEntries(image.platforms.flatMap((p) => (p in hashes ? [[p, hashes[p]!]] : []))),
        }
      : described;
  }
  const plan: Plan = {
    formatVersion: PLAN_FORMAT_VERSION,
    spec: model.file,
    cwd: path.dirname(model.file.replaceAll('\\', '/')),
    inputs: { ...options.inputs },
    localPlatform: model.localPlatform,
    filters: { images: [...(options.images ?? [])], platforms: [...(options.platforms ?? [])], push },
    registries: Object.fromEntries(model.registries.map((r) => [r.name, describeRegistry(r)])),
    hosts: Object.fromEntries(model.hosts.map((h) => [h.name, describeHost(h)])),
    images,
    tasks,
    secrets: planner.secrets.secrets,
    notes: [...selection.value.notes, ...planner.notes],
  };
  return { ok: true, value: plan, diagnostics: selection.diagnostics };
}

class Planner {
  readonly tasks: PlanTask[] = [];
  /** Said once each, however many tasks give rise to them. */
  readonly notes = new Set<string>();
  private readonly logins = new Set<string>();
  /** Context uploads, one per (image, ssh host). */
  private readonly uploads = new Set<string>();
  private readonly hostLogins = new Map<string, string[]>();
  private readonly available = new Map<string, Availability>();
  private readonly publishes = new Map<string, string[]>();
  private readonly publishTasks = new Map<string, string[]>();
  /** Per-arch images: platform -> the push task whose digest the list holds. */
  private readonly pushTasks = new Map<string, Record<string, string>>();
  /** Per (image, host): per-run images to remove at the end, and the tasks that read them. */
  private readonly cleanups = new Cleanups();
  private readonly local: Host & { kind: 'local' };
  private readonly authfile: boolean;
  /** What the publish chain (publish.ts) needs of this planner. */
  private readonly steps: PublishSteps;
  /** What the per-arch chains (per-arch.ts) need of this planner. */
  private readonly chainSteps: ChainSteps;
  private readonly basePulls: BasePulls;
  readonly secrets = new PlanSecrets();

  constructor(
    private readonly model: Model,
    private readonly push: boolean,
  ) {
    this.local = model.hosts.find((h): h is Host & { kind: 'local' } => h.kind === 'local')!;
    // With credentials in the spec (and pushing), every command reads the run's authfile,
    // which the logins (and the spec's authfiles) fill; otherwise podman's default applies.
    this.authfile = push && model.registries.some((r) => r.auth.kind !== 'none');
    this.basePulls = new BasePulls(model.registries, this.authfile);
    this.steps = {
      add: (task) => this.add(task),
      login: (registry, host) => this.login(registry, host),
      access: (registry) => this.access(registry),
      local: this.local,
    };
    this.chainSteps = {
      ...this.steps,
      local: this.local,
      model,
      notes: this.notes,
      cleanups: this.cleanups,
      basePulls: this.basePulls,
      loginsOn: (host) => this.loginsOn(host),
      dependencyInputs: (image, host) => this.dependencyInputs(image, host),
      remoteInput: (image, host, input) => this.remoteInput(image, host, input),
      reset: (image, host, list) => this.reset(image, host, list),
      smokeTest: (image, platform, host, reference, build, role) =>
        this.smokeTest(image, platform, host, reference, build, role),
      recordPush: (image, platform, push) =>
        this.pushTasks.set(image, { ...this.pushTasks.get(image), [platform]: push }),
    };
  }

  private add(task: PlanTask): string {
    this.tasks.push(task);
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
        this.notes.add(
          `${host.name} talks to registry ${registry.name} at ${registry.server}: on ${host.name}, that is ${host.name} itself, not this machine`,
        );
      }
      this.add({
        id,
        kind: 'login',
        image: null,
        platforms: [],
        host: host.name,
        dependsOn: [],
        argv: loginArgs(podmanOn(host), registry.server, registry.auth.username, registry.tlsVerify),
        server: registry.server,
        stdin: { env: registry.auth.passwordEnv },
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

  /**
   * What a build of `image` on `host` waits for, and the --build-context pins that make each
   * FROM / COPY --from naming a dependency use exactly this run's result: the list in that
   * host's storage, or the staged digest in the registry. Never a tag someone else may move.
   */
  private dependencyInputs(image: Image, host: Host): { after: string[]; contexts: Arg[] } {
    const after: string[] = [];
    const contexts: Arg[] = [];
    for (const name of image.dependsOn) {
      const availability = this.available.get(name);
      if (!availability) continue;
      const references = image.dependencyReferences[name] ?? [];
      if (availability.local?.host === host.name) {
        after.push(availability.local.ready);
        for (const reference of references) contexts.push(...buildContextArgs(reference, availability.local.reference));
      } else if (availability.registry) {
        after.push(availability.registry.stage);
        const digest = { ref: 'digest', task: availability.registry.stage } as const;
        for (const reference of references)
          contexts.push(...buildContextArgs(reference, withRunValue(digest, `${availability.registry.repository}@`)));
      } else {
        this.notes.add(
          `${image.name} builds on ${host.name}, but ${name} is neither built there nor pushed in this run: ${host.name} cannot get this run's ${name}`,
        );
        if (availability.local) after.push(availability.local.ready);
      }
    }
    return { after, contexts };
  }

  addImage(image: Image, narrowed: boolean): void {
    for (const note of image.pinnedOutside) this.notes.add(note);
    const registries =
      this.push && !narrowed ? this.model.registries.filter((r) => image.registries.includes(r.name)) : [];
    const list = listName(image, registries[0]);
    const input: BuildInput = {
      containerfile: image.containerfile,
      context: image.context,
      buildArgs: image.buildArgs,
      target: image.target,
      authfile: this.authfile,
      secrets: this.secrets.of(image),
    };
    const built =
      image.strategy === 'manifest-first'
        ? this.manifestFirst(image, input, list)
        : perArchChains(this.chainSteps, image, input, list, registries[0]);
    const availability: Availability = {
      ...(built.list &&
        built.usableLocally && { local: { host: built.list.host.name, ready: built.list.ready, reference: list } }),
    };
    this.available.set(image.name, availability);
    this.publishes.set(image.name, []);
    if (registries.length === 0 || !built.list) {
      if (this.push && !narrowed && image.registries.length === 0)
        this.notes.add(`${image.name} names no registry: it is built and tested, not published`);
      return;
    }

    const published = publishChain(this.steps, {
      image,
      registries,
      list,
      host: built.list.host,
      after: [built.list.ready, ...built.tests],
      ...(this.pushTasks.has(image.name) && { pushedBy: this.pushTasks.get(image.name)! }),
    });
    if (published.firstStage) availability.registry ??= published.firstStage;
    this.publishTasks.set(image.name, published.publishIds);
    this.publishes.set(image.name, published.references);
  }

  /** One build of every platform into one list, on one host (local unless the image names one). */
  private manifestFirst(image: Image, input: BuildInput, list: string): Built {
    const placements = image.platforms.map((platform) => placePlatform(this.model.hosts, image, platform)!);
    const host = placements[0]?.host ?? this.local;
    const logins = this.loginsOn(host); // first, so logins lead the plan
    const emulated = image.platforms.filter((_, i) => placements[i]!.emulated);
    const where = host.kind === 'local' ? 'here' : `on ${host.name}`;
    const dependencies = this.dependencyInputs(image, host);
    const reset = this.reset(image, host, list);
    const remote = this.remoteInput(image, host, input);
    const fromRegistries = image.pulls.filter((p) => !p.localStorage).map((p) => p.reference);
    for (const base of image.pulls.filter((p) => p.localStorage && host.kind === 'ssh'))
      this.notes.add(
        `${image.name} builds on ${host.name} from ${base.reference}: a manifest-first build there takes it from ${host.name}'s own storage (only per-arch builds are sent this machine's)`,
      );
    const build = this.add({
      id: `build:${image.name}`,
      kind: 'build',
      image: image.name,
      platforms: image.platforms,
      host: host.name,
      dependsOn: [reset, ...logins, ...dependencies.after, ...remote.after],
      argv: buildListArgs(
        podmanOn(host),
        { ...remote.input, contexts: dependencies.contexts },
        image.platforms,
        list,
        Math.max(1, Math.min(image.platforms.length, host.jobs)),
      ),
      placement:
        emulated.length === 0 ? `all native ${where}` : `${where}, ${emulated.join(', ')} under QEMU emulation`,
      ...(emulated.length > 0 && { emulated }),
      ...(fromRegistries.length > 0 && { pulls: fromRegistries }),
      ...(image.platforms.length > 1 && { orderList: { podman: podmanOn(host), list } }),
      ...timeoutOf(image),
    });
    const tests = image.platforms.flatMap((platform) => this.smokeTest(image, platform, host, list, build));
    return { list: { host, ready: build }, usableLocally: true, tests };
  }

  /**
   * A build on an ssh host reads its context from the run's directory there: the context is
   * sent first (once per image and host) and the build's paths point at the copy.
   */
  private remoteInput(image: Image, host: Host, input: BuildInput): { input: BuildInput; after: string[] } {
    if (host.kind !== 'ssh') return { input, after: [] };
    const secrets = this.secrets.sendTo(host, input.secrets ?? [], (task) => this.add(task));
    // One flat directory per image: "web" and "web/admin" must not unpack into each other.
    const layout = uploadLayout(image.context, image.containerfile, encodeURIComponent(image.name));
    const id = `upload:${image.name}@${host.name}`;
    if (!this.uploads.has(id)) {
      this.uploads.add(id);
      this.add({
        id,
        kind: 'upload',
        image: image.name,
        platforms: [],
        host: host.name,
        dependsOn: [],
        argv: unpackContextArgs(),
        upload: layout.upload,
      });
    }
    return {
      input: { ...input, context: layout.remoteContext, containerfile: layout.remoteContainerfile },
      after: [id, ...secrets],
    };
  }

  /** Frees the list's name on its host before it is built or assembled there. */
  private reset(image: Image, host: Host, list: string): string {
    return this.add({
      id: `reset:${image.name}`,
      kind: 'reset',
      image: image.name,
      platforms: [],
      host: host.name,
      dependsOn: [],
      argv: removeListArgs(podmanOn(host), list),
      list,
      ifNotAList: removeImageArgs(podmanOn(host), list),
    });
  }

  private smokeTest(image: Image, platform: string, host: Host, reference: Arg, build: string, role = OWN): string[] {
    if (!image.test) return [];
    const output = image.test.expect[platform];
    const id = `test:${image.name}:${platform}`;
    const container = withRunValue(
      { ref: 'run-id' },
      'orchestrate-',
      `-${roleId(role, id).replace(/[^a-zA-Z0-9_.-]+/g, '-')}`,
    );
    return [
      this.add({
        id: roleId(role, id),
        kind: 'test',
        image: image.name,
        platforms: [platform],
        host: host.name,
        dependsOn: [build],
        argv: smokeTestArgs(podmanOn(host), platform, reference, image.test.command, container),
        podman: podmanOn(host),
        container,
        ...(output !== undefined && { expect: { output } }),
        ...timeoutOf(image),
        ...gate(role, id),
      }),
    ];
  }

  /**
   * The plan's tasks: with the cleanups (per-run images are removed from each host once
   * everything that reads them, and the publish, is done) and the base pulls, each just
   * before the first build that needs it.
   */
  finish(): PlanTask[] {
    for (const task of this.cleanups.tasks(this.tasks, this.model.images, this.publishTasks)) this.add(task);
    return insertBeforeDependents(this.tasks, this.basePulls.tasks());
  }

  describe(image: Image): PlanImage {
    return {
      strategy: image.strategy,
      platforms: image.platforms,
      publishes: this.publishes.get(image.name) ?? [],
      dependsOn: image.dependsOn,
    };
  }
}
