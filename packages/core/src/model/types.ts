/** The resolved model: the spec after defaults, variables, names and dependencies are settled. */

export type Strategy = 'manifest-first' | 'per-arch';

export type RegistryAuth =
  | { kind: 'none' }
  | { kind: 'password-env'; username: string; passwordEnv: string }
  | { kind: 'authfile'; path: string };

export interface Registry {
  name: string;
  /** Fully qualified, e.g. `docker.io/acme`. */
  url: string;
  /** The registry host podman logs in to, e.g. `docker.io`, `localhost:5000`. */
  server: string;
  auth: RegistryAuth;
  tlsVerify: boolean;
}

export interface SshAddress {
  user: string;
  host: string;
  port: number;
}

export type Host =
  | {
      kind: 'local';
      name: 'local';
      /** Platforms built natively here: this machine's own unless the spec says otherwise. */
      platforms: string[];
      jobs: number;
      /** Whether platforms no host builds natively may be emulated here (QEMU). */
      emulate: boolean;
    }
  | {
      kind: 'ssh';
      name: string;
      /** Absent when the address comes from a podman system connection at run time. */
      ssh?: SshAddress;
      connection?: string;
      identityFile?: string;
      knownHosts?: string;
      /** Seconds to wait for the ssh connection. */
      connectTimeout: number;
      platforms: string[];
      jobs: number;
      podman: string;
      workdir?: string;
      fallback: 'fail' | 'emulate';
    };

export interface SmokeTest {
  command: string[];
  /** Regular expression per platform, matched against the command's output. */
  expect: Record<string, string>;
}

export interface Image {
  name: string;
  /** Build context, relative to the spec's directory (posix separators). */
  context: string;
  /** Containerfile, relative to the spec's directory. */
  containerfile: string;
  repository: string;
  tags: string[];
  buildArgs: Record<string, string>;
  target?: string;
  platforms: string[];
  strategy: Strategy;
  /** The host named by the spec to build this image on; absent: local (manifest-first) or per platform (per-arch). */
  host?: string;
  registries: string[];
  /** Explicit and inferred, in spec order, without duplicates. */
  dependsOn: string[];
  /** Why each dependency exists, for the plan's text view. */
  dependencyReasons: Record<string, 'dependsOn' | 'FROM' | 'COPY --from'>;
  /** The references this image's Containerfile uses for each dependency, resolved and as written: the build pins them to this run's result. */
  dependencyReferences: Record<string, string[]>;
  /**
   * Images from outside the spec that the build pulls (FROM, COPY --from): resolved, and every
   * spelling in the file. `localStorage`: a localhost/ name, taken from containers-storage.
   */
  pulls: { reference: string; spellings: string[]; localStorage?: true }[];
  /**
   * References naming an image of the spec that the build takes from outside all the same,
   * because the author pinned them (a digest, or a tag the spec does not publish), with why.
   */
  pinnedOutside: string[];
  /** Build secrets by id: where each value comes from (never the value). */
  secrets: BuildSecret[];
  test?: SmokeTest;
  /** How long each of its builds and smoke tests may take (its own `timeout:`, or the spec's); absent: no limit. */
  timeoutMs?: number;
}

/** One build secret: the id RUN --mount=type=secret reads, and an environment variable or a file (relative to the spec's directory). */
export interface BuildSecret {
  id: string;
  source: { env: string } | { file: string };
}

export interface Model {
  /** The spec file, as shown to the user. */
  file: string;
  /** The platform this machine builds natively (input, never read here). */
  localPlatform: string;
  registries: Registry[];
  hosts: Host[];
  images: Image[];
}
