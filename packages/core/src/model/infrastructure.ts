import type { ResolveContext, SpecFiles } from './context.js';
import type { HostSpec, RegistrySpec, SpecDocument } from './spec.js';
import type { Host, Registry, RegistryAuth, SshAddress } from './types.js';
import { isRegistryHost } from './containerfile.js';
import { checkPlatform } from './platform.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Letters, digits and `._-`, not starting with "-": nothing a shell or ssh would read as an option or syntax. */
export const SSH_USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** A DNS name, or an IP address (IPv6 in brackets). */
export const SSH_HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;

export function resolveRegistries(ctx: ResolveContext, spec: SpecDocument, files: SpecFiles): Registry[] {
  return Object.entries(spec.registries ?? {}).map(([name, registry]) => resolveRegistry(ctx, name, registry, files));
}

function resolveRegistry(ctx: ResolveContext, name: string, spec: RegistrySpec, files: SpecFiles): Registry {
  const at = ['registries', name];
  const expanded = ctx.expand([...at, 'url'], spec.url);
  let url = expanded.value.replace(/\/+$/, '');
  const scheme = /^[a-z]+:\/\//i.exec(url);
  if (!expanded.ok) {
    // Already reported (an undefined variable or a secret): nothing more to say about this url.
  } else if (scheme) {
    ctx.error(
      'invalid-value',
      [...at, 'url'],
      `registry url "${url}" has a scheme`,
      `write it without "${scheme[0]}", e.g. "${url.slice(scheme[0].length)}"`,
    );
    url = url.slice(scheme[0].length);
  } else if (!isRegistryHost(url.split('/')[0]!)) {
    ctx.error(
      'short-registry-name',
      [...at, 'url'],
      `registry url "${url}" is a short name; podman cannot resolve short names without a terminal`,
      `write the registry host first, e.g. "docker.io/${url}" for Docker Hub`,
    );
  }
  const server = url.split('/')[0]!;
  const namespace = url.slice(server.length);
  if (expanded.ok && namespace !== namespace.toLowerCase()) {
    ctx.error(
      'invalid-value',
      [...at, 'url'],
      `registry namespace "${namespace.slice(1)}" has upper-case letters`,
      'repository paths are lower case',
    );
  }
  return {
    name,
    url,
    server,
    auth: resolveAuth(ctx, [...at, 'auth'], spec.auth, files),
    tlsVerify: spec.tlsVerify ?? true,
  };
}

function resolveAuth(ctx: ResolveContext, at: string[], auth: RegistrySpec['auth'], files: SpecFiles): RegistryAuth {
  if (!auth) return { kind: 'none' };
  if (auth.authfile !== undefined) {
    if (auth.passwordEnv !== undefined || auth.username !== undefined) {
      ctx.error(
        'invalid-value',
        [...at, 'authfile'],
        'auth has both an authfile and a username/passwordEnv',
        'keep one: the authfile, or username with passwordEnv',
      );
    }
    const file = ctx.expand([...at, 'authfile'], auth.authfile);
    if (file.ok && !files.exists(file.value)) {
      ctx.report(
        'warning',
        'file-unreadable',
        [...at, 'authfile'],
        `authfile "${file.value}" does not exist (yet)`,
        'build reads it (relative to this file); create it with podman login --authfile, or in CI before the build',
      );
    }
    return { kind: 'authfile', path: file.value };
  }
  if (auth.passwordEnv === undefined) {
    ctx.error(
      'missing-key',
      at,
      'auth has no passwordEnv and no authfile',
      'add "passwordEnv: NAME_OF_ENV_VARIABLE" or "authfile: PATH"',
      'key',
    );
    return { kind: 'none' };
  }
  const looksSecret = looksLikeToken(auth.passwordEnv);
  if (looksSecret || !ENV_NAME.test(auth.passwordEnv)) {
    ctx.error(
      looksSecret ? 'inline-secret' : 'invalid-value',
      [...at, 'passwordEnv'],
      looksSecret
        ? 'passwordEnv holds what looks like the secret itself, not the name of a variable'
        : `"${auth.passwordEnv}" is not an environment variable name`,
      'passwordEnv names the environment variable that holds the password, e.g. "passwordEnv: DOCKERHUB_TOKEN"; rotate the token if it was committed',
    );
  }
  if (auth.username === undefined) {
    ctx.error('missing-key', at, 'auth has a passwordEnv but no username', 'add "username: NAME"', 'key');
  }
  return {
    kind: 'password-env',
    username: ctx.interpolate([...at, 'username'], auth.username ?? ''),
    passwordEnv: auth.passwordEnv,
  };
}

/** Known access-token shapes (GitHub, GitLab, Docker Hub, Slack), or a long mix of lower case and digits no one names a variable. */
const TOKEN_PREFIX = /^(?:gh[pousr]_|github_pat_|glpat-|dckr_pat_|xox[abprs]-|hf_)/i;
function looksLikeToken(value: string): boolean {
  if (TOKEN_PREFIX.test(value)) return true;
  if (!ENV_NAME.test(value)) return value.length >= 12 || /[^A-Za-z0-9_]/.test(value);
  return value.length >= 20 && /[a-z]/.test(value) && /\d/.test(value) && !/_/.test(value.slice(1, -1));
}

export function resolvePlatformList(
  ctx: ResolveContext,
  at: readonly (string | number)[],
  written: readonly string[],
): string[] {
  const platforms: string[] = [];
  written.forEach((raw, index) => {
    const check = checkPlatform(raw);
    if (!check.ok) {
      ctx.error('invalid-platform', [...at, index], check.reason, check.hint);
      return;
    }
    if (check.alias) {
      ctx.report(
        'warning',
        'platform-alias',
        [...at, index],
        `"${raw}" is spelled "${check.platform}" by podman and registries`,
        `write "${check.platform}"`,
      );
    }
    if (platforms.includes(check.platform)) {
      ctx.error('invalid-value', [...at, index], `platform ${check.platform} is listed twice`, 'remove one of them');
      return;
    }
    platforms.push(check.platform);
  });
  return platforms;
}

export function resolveHosts(
  ctx: ResolveContext,
  spec: SpecDocument,
  localPlatform: string,
  localJobs: number,
): Host[] {
  const entries = Object.entries(spec.hosts ?? {});
  const localSpec = spec.hosts?.['local'];
  const local: Host = {
    kind: 'local',
    name: 'local',
    platforms: localSpec?.platforms
      ? resolvePlatformList(ctx, ['hosts', 'local', 'platforms'], localSpec.platforms)
      : [localPlatform],
    jobs: localSpec?.jobs ?? localJobs,
    emulate: localSpec?.emulate ?? true,
  };
  if (localSpec) {
    for (const key of [
      'ssh',
      'connection',
      'identityFile',
      'knownHosts',
      'connectTimeout',
      'podman',
      'workdir',
      'fallback',
    ] as const) {
      if (localSpec[key] !== undefined) {
        ctx.error(
          'invalid-value',
          ['hosts', 'local', key],
          `"${key}" does not apply to the local host`,
          'name a remote host something other than "local"',
          'key',
        );
      }
    }
  }
  const remotes = entries
    .filter(([name]) => name !== 'local')
    .map(([name, host]) => resolveRemoteHost(ctx, name, host));
  return [local, ...remotes];
}

function resolveRemoteHost(ctx: ResolveContext, name: string, spec: HostSpec): Host {
  const at = ['hosts', name];
  if (spec.emulate !== undefined) {
    ctx.error(
      'invalid-value',
      [...at, 'emulate'],
      '"emulate" applies only to the local host',
      'use "fallback: emulate" to rebuild locally when this host fails',
      'key',
    );
  }
  if (spec.ssh === undefined && spec.connection === undefined) {
    ctx.error(
      'missing-key',
      at,
      `host "${name}" has no "ssh" address and no "connection"`,
      'add "ssh: user@host:port", or "connection: NAME" of a podman system connection',
      'key',
    );
  } else if (spec.ssh !== undefined && spec.connection !== undefined) {
    ctx.error(
      'invalid-value',
      [...at, 'connection'],
      `host "${name}" has both "ssh" and "connection"`,
      'keep one of them',
      'key',
    );
  }
  if (spec.platforms === undefined) {
    ctx.error(
      'missing-key',
      at,
      `host "${name}" lists no platforms`,
      'add "platforms: [linux/arm64]": the platforms it builds natively',
      'key',
    );
  }
  const address = spec.ssh === undefined ? undefined : ctx.expand([...at, 'ssh'], spec.ssh);
  const ssh = address?.ok ? parseSshAddress(ctx, [...at, 'ssh'], address.value) : undefined;
  const optional = (key: 'identityFile' | 'knownHosts' | 'workdir' | 'connection') => {
    if (spec[key] === undefined) return {};
    const { value, ok } = ctx.expand([...at, key], spec[key]);
    if (ok && key !== 'connection') checkHostPath(ctx, [...at, key], key, value);
    return { [key]: value };
  };
  if (spec.podman !== undefined) checkHostPath(ctx, [...at, 'podman'], 'podman', spec.podman);
  return {
    kind: 'ssh',
    name,
    ...(ssh && { ssh }),
    ...optional('connection'),
    ...optional('identityFile'),
    ...optional('knownHosts'),
    ...optional('workdir'),
    platforms: resolvePlatformList(ctx, [...at, 'platforms'], spec.platforms ?? []),
    jobs: spec.jobs ?? 1,
    connectTimeout: spec.connectTimeout ?? 10,
    podman: spec.podman ?? 'podman',
    fallback: spec.fallback ?? 'fail',
  };
}

/** podman's path on a host, the first word of every command there: no option, whitespace or shell syntax. */
const HOST_PROGRAM = /^[A-Za-z0-9_./+@%,:=][A-Za-z0-9_./+@%,:=-]*$/;
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * Paths a host's commands are given: refused when the spec is read rather than failing at
 * run time. A leading "-" would be an option to whatever gets the path (or to the shell,
 * for podman's). podman's path is also one plain word: commands there are quoted, so "~"
 * or "$HOME" would not expand (a relative path starts from the login directory anyway).
 */
function checkHostPath(
  ctx: ResolveContext,
  at: readonly (string | number)[],
  key: 'podman' | 'workdir' | 'identityFile' | 'knownHosts',
  value: string,
): void {
  const shown = JSON.stringify(value);
  const hint =
    key === 'podman'
      ? 'write a path of letters, digits and "/._-+@%,:=" that does not start with "-", e.g. /usr/local/bin/podman (relative: from the login directory)'
      : `write a path that does not start with "-", e.g. ./${value.replace(/^-+/, '') || 'NAME'}`;
  if (value.startsWith('-'))
    ctx.error('invalid-value', at, `${key} ${shown} starts with "-" and would be read as an option`, hint);
  else if (CONTROL_CHARACTER.test(value))
    ctx.error('invalid-value', at, `${key} ${shown} holds a control character (a newline, a tab...)`, hint);
  else if (key === 'podman' && !HOST_PROGRAM.test(value))
    ctx.error(
      'invalid-value',
      at,
      `podman ${shown} is not a plain path: it holds whitespace or shell characters`,
      hint,
    );
}

/** `user@host[:port]`, refusing anything ssh or a shell could read as an option or syntax. */
export function parseSshAddress(
  ctx: ResolveContext,
  at: readonly (string | number)[],
  address: string,
): SshAddress | undefined {
  const match = /^([^@]+)@(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(address);
  const hint =
    'write user@host or user@host:port; user and host are letters, digits, ".", "_" and "-", and do not start with "-"';
  if (!match) {
    ctx.error('invalid-ssh-address', at, `"${address}" is not user@host[:port]`, hint);
    return undefined;
  }
  const [, user, host, portText] = match as unknown as [string, string, string, string | undefined];
  if (!SSH_USER.test(user)) {
    ctx.error('invalid-ssh-address', at, `ssh user "${user}" is not allowed`, hint);
    return undefined;
  }
  if (!SSH_HOST.test(host)) {
    ctx.error('invalid-ssh-address', at, `ssh host "${host}" is not allowed`, hint);
    return undefined;
  }
  const port = portText === undefined ? 22 : Number(portText);
  if (!(port >= 1 && port <= 65535)) {
    ctx.error('invalid-ssh-address', at, `ssh port ${portText} is out of range`, 'a port is 1 to 65535');
    return undefined;
  }
  return { user, host, port };
}
