/**
 * The plan: what `orchestrate build` runs, exactly. Versioned, so a plan written by one
 * version is refused, not misread, by another. `orchestrate plan --format json` prints it.
 * Version 2: build hosts over ssh (upload tasks, host connection settings, fallback stand-ins).
 * Version 3: lists reset with `manifest rm` (and `rmi` for a plain image), ordered by platform
 * after a multi-platform build; `inputs`, so that `build --plan` refuses a plan whose files
 * changed; tasks by kind, each with its own fields (no `retry`: the kind says); `local-base`
 * Version 4: `local-base` tasks for localhost/ base images (never pulled from a registry);
 * build `secrets` (and `secret` tasks that send them to build hosts); every positional word
 * after `--`, every option value joined to its flag; each image's `inputs`, its input hash
 * per platform (model/inputs.ts), so a later step can tell an unchanged image from one to
 * build; build and test tasks' `timeoutMs`.
 */
import type { UploadLayout } from './upload.js';

export const PLAN_FORMAT_VERSION = 4;

/** A value only known when the run starts; the executor fills it in, the plan names it. */
export type RunValue =
  /** The run's private authfile (mode 0600, removed at the end). */
  | { ref: 'authfile' }
  /** Unique per run: staging tags cannot collide between concurrent runs. */
  | { ref: 'run-id' }
  /** A file this task writes the pushed digest to (--digestfile). */
  | { ref: 'digest-file' }
  /** The digest another task pushed. */
  | { ref: 'digest'; task: string }
  /** The id of the image a `local-base` task found in local storage for its platform. */
  | { ref: 'image-id' }
  /** The 0600 file holding build secret `name` (plan.secrets) in the run's directory on the task's host. */
  | { ref: 'secret-file'; name: string };

/** One argument: literal, or literal text around one run-time value. */
export type Arg = string | (RunValue & { prefix?: string; suffix?: string });

/** What every task has, whatever its kind. */
interface TaskCommon {
  id: string;
  /** The image this task belongs to; null for registry logins and outside base images. */
  image: string | null;
  platforms: string[];
  /** Where the argv runs: `local` or a host name from the spec. */
  host: string;
  dependsOn: string[];
  /** The command, exactly as it runs: a rendering of the fields below, never read back. */
  argv: Arg[];
  /** Why the task runs where it does, in words (native, emulated, on a host). */
  placement?: string;
  /** Platforms this task builds under QEMU emulation. */
  emulated?: string[];
  /**
   * Part of the fallback for a platform placed on a build host with `fallback: emulate`: runs
   * (here, under QEMU) only if that host failed in this run (unreachable, connection lost, out
   * of disk) and the platform's tasks there (`after`) did not all succeed; otherwise it is
   * skipped as not needed. When it succeeds, it stands in for `for`: dependents of `for` go
   * on with its result (digest included).
   */
  standIn?: { host: string; for?: string; after: string[] };
}

/** Builds and smoke tests: stopped, with everything they started, after `timeoutMs` (the image's `timeout:`). */
interface Timed {
  timeoutMs?: number;
}

/**
 * One task of a plan, by kind: each kind carries what the executor needs of it as fields,
 * so nothing reads argv back. What each kind means to the executor (weight, caps, retries,
 * outcome check) is in exec/kinds.ts, one entry per kind that the compiler demands.
 */
export type PlanTask =
  /** podman login into the run's private authfile, the secret on stdin. */
  | (TaskCommon & { kind: 'login'; server: string; stdin: { env: string } })
  /**
   * Frees the list's name before it is built or assembled: `manifest rm`; for a plain image
   * under that name (newer podman's `manifest rm` refuses those), `ifNotAList` instead.
   */
  | (TaskCommon & { kind: 'reset'; list: string; ifNotAList: Arg[] })
  /** Copies an outside base image, for one platform, to a name of its own on a host (per-arch builds are pinned to it). */
  | (TaskCommon & { kind: 'pull'; source: string })
  /**
   * Puts one platform's instance of an image of local storage (a localhost/ name: a list or a
   * single image) under a name of its own on a host, for per-arch builds to be pinned to. Never
   * from a registry. Here, looked up in this machine's storage; on a build host, the host's own
   * image when it has one, otherwise this machine's, sent over ssh (podman save | podman load).
   */
  | (TaskCommon & { kind: 'local-base'; reference: string; localName: string; podman: string })
  /**
   * Build: all platforms into a list (manifest-first) or one platform (per-arch).
   * `pulls`: outside images this (multi-platform) build pulls itself; two such builds on one
   * host do not run at once (podman keeps one local image per name, and concurrent pulls of
   * two platforms move the name under each other). `orderList`: afterwards, the list's
   * entries are put in platform order (podman adds them as platforms finish), so a list's
   * digest depends on its content only.
   */
  | (TaskCommon & { kind: 'build'; pulls?: string[]; orderList?: { podman: string; list: string } } & Timed)
  /** Pushes one platform's image to a unique staging tag of `repository`, recording its digest. */
  | (TaskCommon & { kind: 'push'; repository: string })
  /** Creates the local list, or adds one instance to it: from the registry (`repository`) or local storage. */
  | (TaskCommon & { kind: 'assemble'; repository?: string })
  /** Smoke test: runs the image once for one platform, as container `container` (removed by that name when interrupted). */
  | (TaskCommon & { kind: 'test'; podman: string; container: Arg; expect?: { output: string } } & Timed)
  /** Pushes the whole list (--all) to a staging tag of `repository` unique to the run. */
  | (TaskCommon & { kind: 'stage'; repository: string })
  /**
   * Reads the list `stage` pushed back from `repository` and checks it holds every platform,
   * with the digest each push task of `digestsFrom` pushed (per-arch).
   */
  | (TaskCommon & {
      kind: 'verify';
      repository: string;
      stage: string;
      expect: { platforms: string[]; digestsFrom?: Record<string, string> };
    })
  /** Moves one final tag (`repository:tag`) to the digest `stage` pushed and verify checked. */
  | (TaskCommon & { kind: 'publish'; repository: string; tag: string; stage: string })
  /** Removes per-run local images; runs once its dependencies have ended, whether or not they succeeded. */
  | (TaskCommon & { kind: 'cleanup'; always: true })
  /** Writes build secret `name` (plan.secrets) into a 0600 file of the run's directory on a build host: the value on ssh's stdin. */
  | (TaskCommon & { kind: 'secret'; name: string })
  /** Sends an image's build context to a build host: a tar stream on ssh's stdin (honouring .containerignore/.dockerignore), unpacked in the run's directory there. */
  | (TaskCommon & { kind: 'upload'; upload: UploadLayout });

export type TaskKind = PlanTask['kind'];
export type TaskOf<K extends TaskKind> = Extract<PlanTask, { kind: K }>;

export interface PlanImage {
  strategy: 'manifest-first' | 'per-arch';
  platforms: string[];
  /** Final references the run publishes (empty with --no-push or a narrowing --platform). */
  publishes: string[];
  dependsOn: string[];
  /**
   * Input hash (sha256 hex, model/inputs.ts) per platform planned: what the build of that
   * platform reads. Absent when the planner was not given them (a library caller).
   */
  inputs?: Record<string, string>;
}

export interface PlanHost {
  kind: 'local' | 'ssh';
  jobs: number;
  platforms: string[];
  /** user@host:port, for ssh hosts with a literal address. */
  address?: string;
  /** A podman system connection the address and identity come from, looked up when the build starts. */
  connection?: string;
  /** As written in the spec: relative to the spec's directory, or ~/... */
  identityFile?: string;
  knownHosts?: string;
  connectTimeout?: number;
  /** Directory on the host under which the run's private directory is made. */
  workdir?: string;
  emulate?: boolean;
  fallback?: 'fail' | 'emulate';
}

export interface PlanRegistry {
  url: string;
  server: string;
  tlsVerify: boolean;
  /** How credentials are obtained; never the secret. */
  auth: 'none' | 'authfile' | `env:${string}`;
  /** With auth "authfile": the file, relative to the spec's directory; its entries are merged into the run's authfile. */
  authfile?: string;
}

export interface Plan {
  formatVersion: typeof PLAN_FORMAT_VERSION;
  /** The spec this plan was made from, as shown to the user. */
  spec: string;
  /** The spec's directory, relative to where the plan was made: argv paths are relative to it. */
  cwd: string;
  /** The spec and the Containerfiles the plan was made from (relative to `cwd`) and the sha256 of each: `build --plan` refuses a plan whose inputs changed. */
  inputs: Record<string, string>;
  localPlatform: string;
  /** Filters the plan was made with. */
  filters: { images: string[]; platforms: string[]; push: boolean };
  registries: Record<string, PlanRegistry>;
  hosts: Record<string, PlanHost>;
  images: Record<string, PlanImage>;
  /** In an order in which each task comes after everything it depends on. */
  tasks: PlanTask[];
  /**
   * Build secrets by name (`env-NAME`, `file-N`): where each value comes from, never the value.
   * The executor writes each to a 0600 file of the run's directory before anything runs (and a
   * `secret` task to a build host's), which `--secret id=ID,src=<secret-file>` names.
   */
  secrets: Record<string, PlanSecret>;
  /** Things the plan did on purpose that a reader should know. */
  notes: string[];
}

/** Where a build secret's value comes from: an environment variable, or a file (relative to the spec's directory, or ~/...). */
export type PlanSecret = { env: string } | { file: string };
