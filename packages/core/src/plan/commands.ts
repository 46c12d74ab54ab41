/**
 * Pure argv builders: every podman/skopeo command a plan runs is spelled here, once.
 * Registry credentials are never arguments: logins read the secret on stdin, and every
 * other command names the run's authfile.
 *
 * No value can be read as an option: a value an option takes is joined to it (`--tag=X`),
 * and the command's operands (contexts, images, lists, servers) come after `--`, which
 * podman's and skopeo's parser (cobra/pflag) takes as the end of options. A context
 * directory named `--volume=/x:/host` is then a directory, not a bind mount.
 */
import type { Arg, RunValue } from './types.js';

const AUTHFILE: Arg = { ref: 'authfile' };
/** Ends the options: every word after it is an operand, whatever it starts with. */
export const END_OF_OPTIONS = '--';

/** `--flag=value` as one word: a value starting with "-" stays the flag's value. */
export function option(flag: string, value: string): string;
export function option(flag: string, value: Arg): Arg;
export function option(flag: string, value: Arg): Arg {
  if (typeof value === 'string') return `${flag}=${value}`;
  return { ...value, prefix: `${flag}=${value.prefix ?? ''}` };
}

export interface RegistryAccess {
  /** Pass the run's authfile (only when the spec configures credentials; else podman's own default applies). */
  authfile: boolean;
  tlsVerify: boolean;
}

/** Which ends of a command talk to a registry: podman's and skopeo inspect's one, or skopeo copy's source, or both. */
type RegistryEnd = 'registry' | 'source' | 'both';
const TLS_FLAGS: Readonly<Record<RegistryEnd, readonly string[]>> = {
  registry: ['--tls-verify'],
  source: ['--src-tls-verify'],
  both: ['--src-tls-verify', '--dest-tls-verify'],
};

/** The one spelling of "do not verify this registry's certificate", per tool and end. */
function tlsFlags(verify: boolean, end: RegistryEnd): string[] {
  return verify ? [] : TLS_FLAGS[end].map((flag) => option(flag, 'false'));
}

/** How a command reaches a registry: the run's authfile (when the spec has credentials) and its TLS setting. */
function access(options: RegistryAccess, end: RegistryEnd = 'registry'): Arg[] {
  return [...(options.authfile ? [option('--authfile', AUTHFILE)] : []), ...tlsFlags(options.tlsVerify, end)];
}

export function withRunValue(value: RunValue, prefix = '', suffix = ''): Arg {
  const arg: Exclude<Arg, string> = { ...value };
  if (prefix !== '') arg.prefix = prefix;
  if (suffix !== '') arg.suffix = suffix;
  return arg;
}

/** The password is read from stdin: it never appears in argv. */
export function loginArgs(podman: string, server: string, username: string, tlsVerify: boolean): Arg[] {
  return [
    podman,
    'login',
    option('--authfile', AUTHFILE),
    option('--username', username),
    '--password-stdin',
    ...tlsFlags(tlsVerify, 'registry'),
    END_OF_OPTIONS,
    server,
  ];
}

/**
 * Frees the list's name before `build --manifest` (which appends to a list already there):
 * removes a stale list, its instances staying. podman 4.3's `rmi` cannot remove a list
 * ("tag not known"); `manifest rm` can, and there also untags a plain image of that name.
 */
export function removeListArgs(podman: string, list: string): Arg[] {
  return [podman, 'manifest', 'rm', END_OF_OPTIONS, list];
}

/** Newer podman's `manifest rm` refuses a plain image (one pulled under the list's name, say): that goes with `rmi`. */
export function removeImageArgs(podman: string, image: string): Arg[] {
  return [podman, 'rmi', END_OF_OPTIONS, image];
}

export interface BuildInput {
  containerfile: string;
  context: string;
  buildArgs: Readonly<Record<string, string>>;
  target?: string | undefined;
  authfile: boolean;
  /** `--build-context REF=SOURCE` pairs that pin images this build names to this run's results. */
  contexts?: readonly Arg[];
  /** Build secrets: the id RUN --mount=type=secret reads, and the plan.secrets name of its file. */
  secrets?: readonly { id: string; name: string }[];
}

function buildOptions(input: BuildInput): Arg[] {
  return [
    option('--file', input.containerfile),
    ...Object.entries(input.buildArgs).map(([key, value]) => option('--build-arg', `${key}=${value}`)),
    ...(input.target === undefined ? [] : [option('--target', input.target)]),
    ...(input.contexts ?? []),
    ...(input.secrets ?? []).map(({ id, name }) =>
      option('--secret', { ref: 'secret-file', name, prefix: `id=${id},src=` }),
    ),
    ...(input.authfile ? [option('--authfile', AUTHFILE)] : []),
  ];
}

/** Writes stdin to the 0600 file of build secret `name` in the run's directory (the command's cwd on a build host). */
export function writeSecretArgs(name: string): string[] {
  return ['sh', '-c', 'umask 077 && mkdir -p secrets && cat > "secrets/$1"', 'sh', name];
}

/** manifest-first: every platform into one local list. */
export function buildListArgs(
  podman: string,
  input: BuildInput,
  platforms: readonly string[],
  list: string,
  jobs: number,
): Arg[] {
  return [
    podman,
    'build',
    option('--platform', platforms.join(',')),
    option('--manifest', list),
    option('--jobs', String(jobs)),
    ...buildOptions(input),
    END_OF_OPTIONS,
    input.context,
  ];
}

/**
 * per-arch: one platform into one local image. `cacheAnchor`, a stable second name, keeps
 * the image (and so podman's build cache of its last step) after the per-run name is removed.
 */
export function buildImageArgs(
  podman: string,
  input: BuildInput,
  platform: string,
  image: Arg,
  cacheAnchor?: string,
): Arg[] {
  return [
    podman,
    'build',
    option('--platform', platform),
    option('--tag', image),
    ...(cacheAnchor === undefined ? [] : [option('--tag', cacheAnchor)]),
    ...buildOptions(input),
    END_OF_OPTIONS,
    input.context,
  ];
}

/**
 * One platform of an outside image into local storage under its own name: no name shared
 * between platforms, so copies run side by side and builds pinned to them never pull.
 */
export function copyToStorageArgs(source: string, platform: string, localName: string, options: RegistryAccess): Arg[] {
  const [os, arch, variant] = platform.split('/');
  return [
    'skopeo',
    'copy',
    '--quiet',
    ...access(options, 'source'),
    option('--override-os', os ?? 'linux'),
    option('--override-arch', arch ?? ''),
    ...(variant ? [option('--override-variant', variant)] : []),
    END_OF_OPTIONS,
    `docker://${source}`,
    `containers-storage:${localName}`,
  ];
}

/**
 * `name`: the container's, unique to the run. conmon detaches from podman, so stopping
 * `podman run` can leave the container running; after an interrupt it is removed by name.
 * `--` goes before the image: podman takes every word after the image as the container's
 * command, so the test command reaches the container as written, options and `--` included.
 */
export function smokeTestArgs(
  podman: string,
  platform: string,
  image: Arg,
  command: readonly string[],
  name: Arg,
): Arg[] {
  return [
    podman,
    'run',
    '--rm',
    '--pull=never',
    option('--name', name),
    option('--platform', platform),
    END_OF_OPTIONS,
    image,
    ...command,
  ];
}

/** The local list's entries (digest, platform), as JSON. */
export function inspectListArgs(podman: string, list: string): string[] {
  return [podman, 'manifest', 'inspect', END_OF_OPTIONS, list];
}

/** The id of the local image a list holds by `digest` (`REPO@DIGEST` finds an untagged instance; a list can hold one image under several digests). */
export function instanceIdArgs(podman: string, list: string, digest: string): string[] {
  return [podman, 'image', 'inspect', '--format={{.Id}}', END_OF_OPTIONS, `${list.replace(/:[^:/]+$/, '')}@${digest}`];
}

export function removeFromListArgs(podman: string, list: string, digest: string): string[] {
  return [podman, 'manifest', 'remove', END_OF_OPTIONS, list, digest];
}

/** A local image into a local list, by image id: `containers-storage:@ID` names exactly that image, tagged or not. */
export function addLocalToListArgs(podman: string, list: string, imageId: string): string[] {
  return [podman, 'manifest', 'add', END_OF_OPTIONS, list, `containers-storage:@${imageId}`];
}

/** An interrupted smoke test's container, by the name the plan gave it: gone whether it still runs or not. */
export function removeContainerArgs(podman: string, name: Arg): Arg[] {
  return [podman, 'rm', '--force', '--time=0', '--ignore', END_OF_OPTIONS, name];
}

/** A build context arriving as a tar stream on stdin, unpacked where the command runs. */
export function unpackContextArgs(): Arg[] {
  return ['tar', '-x', '-f', '-'];
}

/**
 * Pins a name a Containerfile uses (FROM, COPY --from) to an image of this run: podman
 * resolves `reference` to `source` instead of pulling it. `source` may hold a run-time digest.
 */
export function buildContextArgs(reference: string, source: Arg): Arg[] {
  const pin =
    typeof source === 'string'
      ? `${reference}=docker-image://${source}`
      : { ...source, prefix: `${reference}=docker-image://${source.prefix ?? ''}` };
  return [option('--build-context', pin)];
}

export function pushImageArgs(podman: string, image: Arg, destination: Arg, options: RegistryAccess): Arg[] {
  return [
    podman,
    'push',
    ...access(options),
    option('--digestfile', { ref: 'digest-file' }),
    END_OF_OPTIONS,
    image,
    destination,
  ];
}

export function createListArgs(podman: string, list: string): Arg[] {
  return [podman, 'manifest', 'create', END_OF_OPTIONS, list];
}

export function addToListArgs(podman: string, list: string, instance: Arg, options: RegistryAccess): Arg[] {
  return [podman, 'manifest', 'add', ...access(options), END_OF_OPTIONS, list, instance];
}

export function pushListArgs(podman: string, list: string, destination: Arg, options: RegistryAccess): Arg[] {
  return [
    podman,
    'manifest',
    'push',
    '--all',
    ...access(options),
    option('--digestfile', { ref: 'digest-file' }),
    END_OF_OPTIONS,
    list,
    destination,
  ];
}

export function inspectRawArgs(reference: Arg, options: RegistryAccess): Arg[] {
  return ['skopeo', 'inspect', '--raw', ...access(options), END_OF_OPTIONS, reference];
}

/** Moves a final tag to exactly the digest that was verified, without re-encoding it. */
export function copyListArgs(source: Arg, destination: string, options: RegistryAccess): Arg[] {
  return [
    'skopeo',
    'copy',
    '--all',
    '--preserve-digests',
    ...access(options, 'both'),
    END_OF_OPTIONS,
    source,
    destination,
  ];
}

/**
 * Removes per-run names. An image that also has its cache anchor is only untagged;
 * --no-prune: untagged parents may be another image's layers (an instance of a list built here).
 */
export function removeImagesArgs(podman: string, images: readonly Arg[]): Arg[] {
  return [podman, 'rmi', '--ignore', '--no-prune', END_OF_OPTIONS, ...images];
}

/** Exit 0: NAME is a list; 125: an image, not a list; 1: nothing of that name (podman 4.3). */
export function listExistsArgs(podman: string, name: string): string[] {
  return [podman, 'manifest', 'exists', END_OF_OPTIONS, name];
}

/** A single image's id and platform, as `ID os/arch`. */
export function imagePlatformArgs(podman: string, name: string): string[] {
  return [podman, 'image', 'inspect', '--format={{.Id}} {{.Os}}/{{.Architecture}}', END_OF_OPTIONS, name];
}

/** Gives a local image (by id) a name of its own. */
export function tagImageArgs(podman: string, image: Arg, name: string): Arg[] {
  return [podman, 'tag', END_OF_OPTIONS, image, name];
}

/** An image (by id) as an archive file, and that archive read into another host's storage from stdin. */
export function saveImageArgs(podman: string, imageId: string, file: string): string[] {
  return [podman, 'save', '--quiet', option('--output', file), END_OF_OPTIONS, imageId];
}
export function loadImageArgs(podman: string): string[] {
  return [podman, 'load', '--quiet'];
}

/** Whether anything of that name is in local storage: exit 0 yes, 1 no. */
export function imageExistsArgs(podman: string, name: string): string[] {
  return [podman, 'image', 'exists', END_OF_OPTIONS, name];
}

/** How an argument reads in a plan shown to a person: run-time values in angle brackets. */
export function formatArg(arg: Arg): string {
  if (typeof arg === 'string') return arg;
  const value =
    arg.ref === 'digest'
      ? `<digest of ${arg.task}>`
      : arg.ref === 'secret-file'
        ? `<secret-file ${arg.name}>`
        : `<${arg.ref}>`;
  return `${arg.prefix ?? ''}${value}${arg.suffix ?? ''}`;
}
