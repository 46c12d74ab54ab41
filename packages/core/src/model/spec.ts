/** The spec as written, once it has passed the schema (mirrors schemas/multiarch.schema.json). */

type Scalar = string | number | boolean;

export interface SpecDocument {
  version: 1;
  variables?: Record<string, Scalar>;
  platforms?: string[];
  strategy?: 'manifest-first' | 'per-arch';
  registries?: Record<string, RegistrySpec>;
  hosts?: Record<string, HostSpec>;
  images: Record<string, ImageSpec>;
}

export interface RegistrySpec {
  url: string;
  auth?: { username?: string; passwordEnv?: string; authfile?: string };
  tlsVerify?: boolean;
}

export interface HostSpec {
  ssh?: string;
  connection?: string;
  identityFile?: string;
  knownHosts?: string;
  connectTimeout?: number;
  platforms?: string[];
  jobs?: number;
  emulate?: boolean;
  podman?: string;
  workdir?: string;
  fallback?: 'fail' | 'emulate';
}

export interface ImageSpec {
  context: string;
  containerfile?: string;
  repository?: string;
  tags?: string[];
  buildArgs?: Record<string, Scalar>;
  target?: string;
  platforms?: string[];
  strategy?: 'manifest-first' | 'per-arch';
  host?: string;
  registries?: string[];
  dependsOn?: string[];
  test?: { command: string[]; expect?: string | Record<string, string> };
}
