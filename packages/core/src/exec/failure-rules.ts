/**
 * The translation table: what podman's and skopeo's error output means, in words, with the
 * fix. Shared by `build` (every task's failure) and `doctor` (its probes). Pure.
 */
import type { Attempt, FailureReason } from './failure.js';

export interface Rule {
  reason: FailureReason;
  pattern: RegExp;
  transient?: boolean;
  rateLimited?: boolean;
  /** The one line for people; without it, the tool's own last error line. */
  message?: (seen: Seen) => string;
  hint: (seen: Seen) => string;
}

/** What a rule gets to word its message: the match, the whole output, what was attempted. */
export interface Seen {
  match: RegExpMatchArray;
  text: string;
  attempt: Attempt;
}

// Order matters: the first rule that matches wins (a 401 that mentions EOF is still a 401;
// a DNS lookup refused by the resolver is not the registry refusing a connection).
export const RULES: readonly Rule[] = [
  {
    reason: 'emulation-missing',
    pattern: /exec format error/i,
    hint: () =>
      'this platform needs QEMU: run `npm run setup` (or `update-binfmts --enable qemu-<arch>`), or build it on a native host',
  },
  {
    // A build host's shell: `exec skopeo` with no skopeo there (exit 127).
    reason: 'command-not-found',
    pattern: /\bexec: \S+: not found/,
    hint: () =>
      "install podman, skopeo and tar on that host, on the PATH of non-interactive ssh sessions (or set the host's podman path)",
  },
  {
    reason: 'no-space',
    pattern: /no space left on device/i,
    hint: () =>
      'free disk space: `podman system prune` removes unused images and build cache; `df -h /var/lib/containers` shows what is left',
  },
  {
    reason: 'storage-race',
    pattern:
      /locating pulled image .* image not known|getting top layer info: layer not known|getting exit code of container \w+ from DB: no such exit code|locating item named "manifest-sha256:[0-9a-f]+" for image/i,
    transient: true,
    hint: () =>
      'podman 4.3 lost track of an image or container under concurrent use (two platforms pulling one name, or `run --rm` racing its own cleanup); it was retried',
  },
  {
    // Docker Hub's anonymous pull limit (429 TOOMANYREQUESTS), or any registry's 429.
    reason: 'registry-unavailable',
    pattern: /toomanyrequests|pull rate limit|\b429\b|too many requests/i,
    transient: true,
    rateLimited: true,
    message: ({ text, attempt }) => {
      const what = referenceIn(text, attempt);
      const limit = /pull rate limit/i.test(text) ? 'its pull rate limit was reached' : 'too many requests';
      return `the registry refused ${what ?? 'the request'}: ${limit} (429)`;
    },
    hint: ({ text, attempt }) => {
      if (attempt.op === 'push')
        return 'the registry is rate-limiting this account: wait, or push fewer images at once (--jobs)';
      const host = hostOf(referenceIn(text, attempt)) ?? 'docker.io';
      return `log in (give the registry an \`auth:\` in the spec; anonymous pulls get the lowest limit), or pull through a mirror: in /etc/containers/registries.conf, [[registry]] location = "${host}" with [[registry.mirror]] location = "MIRROR-HOST:PORT"`;
    },
  },
  {
    reason: 'registry-auth',
    pattern:
      /\b(?:unauthorized|authentication required|invalid username\/password|incorrect username or password|requested access to the resource is denied|401 Unauthorized|403 Forbidden|StatusCode: 40[13])\b|\bdenied: |: denied(?=$|")/im,
    message: ({ text, attempt }) => authMessage(text, attempt),
    hint: ({ text, attempt }) => authHint(text, attempt),
  },
  {
    reason: 'registry-tls',
    pattern: /x509: |certificate signed by unknown authority|tls: failed to verify/i,
    message: ({ text, attempt }) => {
      const server = serverIn(text, attempt) ?? 'the registry';
      if (/certificate is valid for|doesn't contain any IP SANs/i.test(text))
        return `the certificate of ${server} is not made out to that name (${tlsCause(text)})`;
      if (/certificate has expired|is not yet valid/i.test(text))
        return `the certificate of ${server} is out of date (${tlsCause(text)})`;
      return `${server} presented a certificate this host does not trust (${tlsCause(text)})`;
    },
    hint: ({ text, attempt }) => {
      const server = serverIn(text, attempt) ?? 'HOST:PORT';
      if (/certificate is valid for|doesn't contain any IP SANs/i.test(text))
        return `use a name the certificate is made out to, or reissue it with ${server.replace(/:\d+$/, '')} in its subjectAltName`;
      if (/certificate has expired|is not yet valid/i.test(text))
        return `renew the registry's certificate (or check this host's clock: \`date -u\`)`;
      return `trust the registry's CA: put it in /etc/containers/certs.d/${server}/ca.crt (rootless podman: ~/.config/containers/certs.d/${server}/ca.crt), or set \`tlsVerify: false\` on the registry, for a test registry only`;
    },
  },
  {
    reason: 'short-name',
    pattern:
      /short-name (?:resolution enforced|"[^"]*" did not resolve)|did not resolve to an alias and no (?:unqualified-search|containers-registries)/i,
    hint: () => 'name the base image in full, with its registry: `docker.io/library/busybox:1.36`, not `busybox:1.36`',
  },
  {
    // Go's resolver: "lookup HOST on 10.0.0.2:53: no such host" (the name does not exist).
    reason: 'registry-dns',
    pattern: /lookup (\S+?)(?: on (\S+?))?: no such host/i,
    message: ({ match }) =>
      `${match[1] ?? 'the registry'} does not resolve: ${match[2] === undefined ? 'the' : `the DNS server ${match[2]}`} says no such host`,
    hint: ({ match }) =>
      `check the name ${match[1] ?? ''} in the spec (or the FROM line); if it is right, this host's DNS (/etc/resolv.conf) does not know it: add it to /etc/hosts, or mirror the image to a registry this host can reach`,
  },
  {
    // The resolver itself did not answer: "lookup HOST on 127.0.0.1:53: read udp ...: connection refused".
    reason: 'registry-dns',
    pattern:
      /lookup (\S+?) on (\S+?): (?:read|dial|write) (?:udp|tcp)\b.*?(connection refused|i\/o timeout|no route to host|network is unreachable)/i,
    transient: true,
    message: ({ match }) =>
      `cannot look up ${match[1] ?? 'the registry'}: the DNS server ${match[2] ?? ''} did not answer (${match[3] ?? 'no answer'})`,
    hint: ({ match }) =>
      `check that ${match[2] ?? 'the DNS server'} (from /etc/resolv.conf) is up and reachable from this host, or put ${match[1] ?? 'the registry'} in /etc/hosts`,
  },
  {
    reason: 'registry-unavailable',
    pattern:
      /\b50[0-4]\b|internal server error|bad gateway|service unavailable|gateway time-?out|connection reset|connection refused|broken pipe|i\/o timeout|TLS handshake timeout|unexpected EOF|: EOF\b|server closed idle connection|no route to host/i,
    transient: true,
    hint: () =>
      'the registry did not answer properly: check that it is up and reachable from this host (registry operations are retried with backoff first)',
  },
  {
    // c/image says this when the registry refused the list as it is and preserving digests
    // forbids converting it; seen transiently with concurrent writes to one repository.
    reason: 'registry-unavailable',
    pattern: /must be converted to type .* but we cannot modify it/i,
    transient: true,
    hint: () =>
      'the registry refused the OCI image index as it is; if this repeats, the registry may not support OCI indexes (distribution 2.7 and later do)',
  },
  {
    reason: 'image-not-found',
    pattern: /manifest unknown|name unknown|reading manifest [^:]*: .*not found|repository .* not found/i,
    message: ({ text, attempt }) => {
      const what = referenceIn(text, attempt);
      if (what === undefined) return 'the registry has no such image (manifest unknown)';
      const pinned = what.includes('@') ? 'that digest' : 'that tag';
      return /name unknown|repository .* not found/i.test(text)
        ? `${what} does not exist: the registry has no such repository`
        : `${what} does not exist: the registry has no manifest for ${pinned} (manifest unknown)`;
    },
    hint: ({ text, attempt }) =>
      `check the name and tag of ${referenceIn(text, attempt) ?? 'the image'} (\`skopeo list-tags docker://REPOSITORY\` lists the tags); a base image built by this spec must be listed as a dependency (dependsOn) so it is pushed first`,
  },
  {
    reason: 'image-not-found',
    pattern: /image not known|no such image/i,
    hint: () =>
      'check the image name and tag; a base image built by this spec must be listed as a dependency (dependsOn) so it is built first',
  },
];

/** 401 (no or wrong credentials) and 403 (an account without the right), told apart by what was attempted. */
function authMessage(text: string, attempt: Attempt): string {
  const what = referenceIn(text, attempt);
  const refused = /\b(?:unauthorized|authentication required|401)\b/i.test(text) ? 'unauthorized' : 'denied';
  switch (attempt.op) {
    case 'login':
      return `${serverIn(text, attempt) ?? 'the registry'} refused the login: wrong username or password`;
    case 'push':
      return refused === 'unauthorized'
        ? `the registry wants credentials to push to ${what ?? 'that repository'} (unauthorized)`
        : `this account has no right to push to ${what ?? 'that repository'} (denied)`;
    default:
      return refused === 'unauthorized'
        ? `the registry wants credentials to read ${what ?? 'the image'} (unauthorized)`
        : `the registry refused to let this account read ${what ?? 'the image'} (denied)`;
  }
}

function authHint(text: string, attempt: Attempt): string {
  const what = referenceIn(text, attempt);
  const denied = !/\b(?:unauthorized|authentication required|401)\b/i.test(text);
  switch (attempt.op) {
    case 'login':
      return "check the username and the password variable the registry's `auth:` names";
    case 'push':
      return denied
        ? `give the account write access to ${repositoryOf(what) ?? 'the repository'} (a token with push scope), or publish under a namespace it owns`
        : `give the registry an \`auth:\` in the spec (username and password variable); if it has one, the registry did not accept those credentials`;
    default:
      return `log in (give the registry an \`auth:\` in the spec), and check the name ${what ?? ''}: registries answer ${denied ? 'denied' : 'unauthorized'} for repositories that do not exist, too`;
  }
}

/** The image reference the output (or the attempt) names: `host/repo:tag`, `host/repo@digest` or `host/repo`. */
export function referenceIn(text: string, attempt: Attempt): string | undefined {
  if ('reference' in attempt && attempt.reference) return attempt.reference;
  // c/image: "reading manifest 1.0 in 127.0.0.1:5000/acme/base: manifest unknown"
  const manifest = /(?:reading|uploading) manifest (\S+) (?:in|to) ([^\s:]+(?::\d+)?\/[^\s:]+)/.exec(text);
  if (manifest) return `${manifest[2]}${manifest[1]!.startsWith('sha256:') ? '@' : ':'}${manifest[1]}`;
  // "initializing source docker://host/repo:tag: ...", "Error parsing image name \"docker://host/repo:tag\""
  const named = /docker:\/\/([^\s"]+?)"?: /.exec(text);
  if (named) return named[1];
  // A blob push: "initiating layer upload to /v2/acme/base/blobs/uploads/ in 127.0.0.1:5000: denied"
  const upload = /to \/v2\/(\S+?)\/blobs\/uploads\/ in ([^\s:]+(?::\d+)?)/.exec(text);
  if (upload) return `${upload[2]}/${upload[1]}`;
  return undefined;
}

/** The registry's host[:port]: as certs.d names its directories. */
function serverIn(text: string, attempt: Attempt): string | undefined {
  if (attempt.op === 'login' && attempt.server !== undefined) return attempt.server;
  return (
    /(?:pinging container registry|creds for "|logging in to ")([^\s":]+(?::\d+)?)/.exec(text)?.[1] ??
    /https:\/\/([^\s/"]+)\/v2\//.exec(text)?.[1] ??
    hostOf(referenceIn(text, attempt))
  );
}

function hostOf(reference: string | undefined): string | undefined {
  const first = reference?.split('/')[0];
  return first !== undefined && /[.:]|^localhost$/.test(first) && reference!.includes('/') ? first : undefined;
}

function repositoryOf(reference: string | undefined): string | undefined {
  return reference?.replace(/@.*$/, '').replace(/(\/[^/:]+):[^/]*$/, '$1');
}

/** What Go's TLS said, without the URL around it. */
function tlsCause(text: string): string {
  return /x509: ([^"\n]+)/.exec(text)?.[1]?.trim() ?? /tls: [^"\n]+/.exec(text)?.[0] ?? 'TLS verification failed';
}
