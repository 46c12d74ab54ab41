/**
 * The plan: what `orchestrate build` runs, exactly. Versioned, so a plan written by one
 * version is refused, not misread, by another. `orchestrate plan --format json` prints it.
 * Version 2: build hosts over ssh (upload tasks, host connection settings, fallback stand-ins).
 * Version 3: lists reset with `manifest rm` (and `rmi` for a plain image), ordered by platform
 * after a multi-platform build; `inputs`, so that `build --plan` refuses a plan whose files changed.
 */
import type { UploadLayout } from './upload.js';

export const PLAN_FORMAT_VERSION = 3;

export type TaskKind =
  /** podman login into the run's private authfile, secret on stdin. */
  | 'login'
  /** Remove a stale local manifest list before building into it. */
  | 'reset'
  /** Copy an outside base image, for one platform, to a name of its own on a host (per-arch builds are pinned to it). */
  | 'pull'
  /** Build: all platforms into a list (manifest-first) or one platform (per-arch). */
  | 'build'
  /** Push one platform's image to a unique staging tag, recording its digest. */
  | 'push'
  /** Create the local list from the pushed per-platform digests. */
  | 'assemble'
  /** Smoke test: run the image once for one platform. */
  | 'test'
  /** Push the whole list (--all) to a staging tag unique to the run. */
  | 'stage'
  /** Read the staged list back and check it holds every platform with the digest built. */
  | 'verify'
  /** Move one final tag: push the verified list (--all) to registry:tag. */
  | 'publish'
  /** Remove per-run local images. */
  | 'cleanup'
  /** Send an image's build context to a build host: a tar stream on ssh's stdin, unpacked in the run's directory there. */
  | 'upload';

/** A value only known when the run starts; the executor fills it in, the plan names it. */
export type RunValue =
  /** The run's private authfile (mode 0600, removed at the end). */
  | { ref: 'authfile' }
  /** Unique per run: staging tags cannot collide between concurrent runs. */
  | { ref: 'run-id' }
  /** A file this task writes the pushed digest to (--digestfile). */
  | { ref: 'digest-file' }
  /** The digest another task pushed. */
  | { ref: 'digest'; task: string };

/** One argument: literal, or literal text around one run-time value. */
export type Arg = string | (RunValue & { prefix?: string; suffix?: string });

export interface PlanTask {
  id: string;
  kind: TaskKind;
  /** The image this task belongs to; null for registry logins. */
  image: string | null;
  platforms: string[];
  /** Where the argv runs: `local` or a host name from the spec. */
  host: string;
  dependsOn: string[];
  argv: Arg[];
  /** What goes to the process's stdin: the named environment variable's value, never written in the plan. */
  stdin?: { env: string };
  /** Why the task runs where it does, in words (native, emulated, on a host). */
  placement?: string;
  /** Platforms this task builds under QEMU emulation. */
  emulated?: string[];
  /** Registry operations are retried with backoff; builds and tests only when podman lost an image to a storage race, never for what they ran. */
  retry: 'registry' | 'never';
  /** What a verify or test task checks. */
  expect?: {
    platforms?: string[];
    /** A regular expression the smoke test's output must match. */
    output?: string;
    /** platform -> the push task whose digest the verified list must hold for it (per-arch). */
    digestsFrom?: Record<string, string>;
  };
  /**
   * Images from outside the spec this (multi-platform) build pulls itself. Two such builds on
   * one host do not run at once: podman keeps one local image per name, and concurrent pulls
   * of two platforms move the name under each other. Per-arch builds are pinned to `pull`
   * tasks' copies instead.
   */
  pulls?: string[];
  /**
   * For a multi-platform build into a list: afterwards, its entries are put in platform order
   * (podman adds them as the platforms finish), so a list's digest depends on its content only.
   */
  orderList?: { podman: string; list: string };
  /** For a reset: the list's name, and what removes that name instead when it is a plain image (newer podman's `manifest rm` refuses those). */
  reset?: { list: string; ifNotAList: Arg[] };
  /** Runs once its dependencies have ended, whether or not they succeeded (cleanups). */
  always?: true;
  /** For an upload: what goes on stdin, as a tar stream (honouring .containerignore/.dockerignore). */
  upload?: UploadLayout;
  /**
   * Part of the fallback for a platform placed on a build host with `fallback: emulate`: runs
   * (here, under QEMU) only if that host failed in this run (unreachable, connection lost, out
   * of disk) and the platform's tasks there (`after`) did not all succeed; otherwise it is
   * skipped as not needed. When it succeeds, it stands in for `for`: dependents of `for` go
   * on with its result (digest included).
   */
  standIn?: { host: string; for?: string; after: string[] };
}

export interface PlanImage {
  strategy: 'manifest-first' | 'per-arch';
  platforms: string[];
  /** Final references the run publishes (empty with --no-push or a narrowing --platform). */
  publishes: string[];
  dependsOn: string[];
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
  /** Things the plan did on purpose that a reader should know. */
  notes: string[];
}
