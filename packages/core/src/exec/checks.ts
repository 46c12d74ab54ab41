/**
 * What a verify or smoke-test task checks in its command's output. Pure.
 */
import { createHash } from 'node:crypto';
import { RE2JS } from 're2js';
import { compileExpect } from '../util/expect.js';
import type { TaskFailure } from './failure.js';

interface ListEntry {
  digest?: string;
  platform?: { os?: string; architecture?: string; variant?: string };
}

function platformOf(entry: ListEntry): string {
  const p = entry.platform ?? {};
  return [p.os ?? '?', p.architecture ?? '?', ...(p.variant ? [p.variant] : [])].join('/');
}

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

export interface ListExpectation {
  /** The digest the list was read back by: its bytes must hash to it. */
  listDigest: string;
  platforms: readonly string[];
  /** platform -> digest this run pushed for it, where known (per-arch). */
  digests: ReadonlyMap<string, string>;
}

/**
 * The list read back from the registry holds every platform asked for, each with the
 * digest this run pushed, and is byte for byte the list that was staged.
 */
export function checkPushedList(raw: string, expected: ListExpectation): TaskFailure | undefined {
  const fail = (message: string, hint?: string): TaskFailure => ({
    reason: 'expectation-failed',
    message,
    ...(hint && { hint }),
  });
  // Tools print the manifest's exact bytes, some with a newline after them.
  if (sha256(raw) !== expected.listDigest && sha256(raw.replace(/\n$/, '')) !== expected.listDigest) {
    return fail(
      `the registry returned a list whose digest is not ${expected.listDigest}`,
      'the registry or a proxy in front of it rewrote the manifest; do not publish from it',
    );
  }
  let entries: ListEntry[];
  try {
    const parsed = JSON.parse(raw) as { manifests?: ListEntry[] };
    if (!Array.isArray(parsed.manifests))
      return fail(
        'the pushed manifest is a single image, not a list',
        'manifest push --all should have pushed a list: check the podman version',
      );
    entries = parsed.manifests;
  } catch {
    return fail('the registry returned something that is not JSON for the pushed list');
  }
  const present = new Map(entries.map((entry) => [platformOf(entry), entry.digest]));
  // A list built into a name that held another list can carry stale or doubled entries.
  if (present.size < entries.length)
    return fail(
      `the pushed list holds a platform twice (${entries.map(platformOf).join(', ')})`,
      'another run built into the same local list at the same time, or its reset failed: rerun',
    );
  const extra = [...present.keys()].filter(
    (platform) => !expected.platforms.some((p) => platform === p || platform.startsWith(`${p}/`)),
  );
  if (extra.length > 0)
    return fail(
      `the pushed list holds ${extra.join(', ')}, which this run did not build`,
      'a stale local list was pushed: rerun; if it repeats, remove the list with `podman rmi`',
    );
  const missing = expected.platforms.filter((platform) => !matchingEntry(present, platform));
  if (missing.length > 0) {
    return fail(
      `the pushed list lacks ${missing.join(', ')} (it holds ${[...present.keys()].join(', ') || 'nothing'})`,
      'a platform was dropped between build and push: rerun; if it repeats, check `podman manifest inspect` of the local list',
    );
  }
  for (const [platform, digest] of expected.digests) {
    const found = matchingEntry(present, platform);
    if (found !== digest)
      return fail(
        `the pushed list has ${found ?? 'no digest'} for ${platform}, but this run pushed ${digest}`,
        'another run or tool changed the list between push and verify: rerun',
      );
  }
  return undefined;
}

/** linux/arm64 matches an entry linux/arm64/v8 too: a variant asked for must match, one not asked for may be there. */
function matchingEntry(present: ReadonlyMap<string, string | undefined>, platform: string): string | undefined {
  if (present.has(platform)) return present.get(platform) ?? '';
  for (const [candidate, digest] of present) if (candidate.startsWith(`${platform}/`)) return digest ?? '';
  return undefined;
}

/** A smoke test passes when its output matches the expected regular expression, if any. */
export function checkTestOutput(output: string, pattern: string | undefined): TaskFailure | undefined {
  if (pattern === undefined) return undefined;
  const compiled = compileExpect(pattern);
  if (!(compiled instanceof RE2JS)) return { reason: 'expectation-failed', ...compiled };
  // RE2's ^ and $ see only \n as a line end, JavaScript's also \r: keep x86_64$ matching a CRLF line.
  if (compiled.test(output.replace(/\r\n?/g, '\n'))) return undefined;
  const shown = output.trim().split('\n').slice(-3).join(' | ').slice(0, 200);
  return {
    reason: 'expectation-failed',
    message: `output "${shown}" does not match /${pattern}/`,
    hint: 'check test.expect in the spec, or what the image does on this platform',
  };
}
