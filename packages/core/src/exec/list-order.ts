/**
 * podman adds each platform to a `build --manifest` list as that platform finishes, so the
 * same builds give lists whose entries differ in order, and so in digest: an unchanged
 * rebuild would move the tag. After the build, the entries are put in platform order, by
 * removing and adding back (by image id, digests unchanged) those out of place.
 */
import { addLocalToListArgs, inspectListArgs, instanceIdArgs, removeFromListArgs } from '../plan/commands.js';
import { byCodePoint } from '../util/order.js';
import type { TaskFailure } from './failure.js';
import type { ProcessOutcome } from './runner.js';

interface ListEntry {
  digest: string;
  platform?: { os?: string; architecture?: string; variant?: string };
}

const platformKey = (entry: ListEntry): string =>
  [entry.platform?.os ?? '', entry.platform?.architecture ?? '', entry.platform?.variant ?? ''].join('/');

/** Whether the entries were moved (or why they could not be, the list untouched), or what broke the list. */
export async function orderListByPlatform(
  podman: string,
  list: string,
  run: (argv: readonly string[]) => Promise<ProcessOutcome>,
): Promise<{ reordered: boolean; note?: string } | TaskFailure> {
  const fail = (what: string, outcome: ProcessOutcome): TaskFailure => ({
    reason: 'command-failed',
    message: `cannot put the list's entries in platform order (${what}): ${outcome.stderr.trim().split('\n').at(-1) ?? `exit ${outcome.exitCode}`}`,
  });
  const inspected = await run(inspectListArgs(podman, list));
  if (inspected.exitCode !== 0) return fail('manifest inspect', inspected);
  const entries = (JSON.parse(inspected.stdout) as { manifests?: ListEntry[] }).manifests ?? [];
  const sorted = [...entries].sort((a, b) => byCodePoint(platformKey(a), platformKey(b)));
  // The entries before the first one out of place stay; the rest go and come back in order.
  const firstOut = sorted.findIndex((entry, i) => entry.digest !== entries[i]?.digest);
  if (firstOut < 0) return { reordered: false };
  const moving = sorted.slice(firstOut);
  const idOf = new Map<string, string>();
  for (const entry of moving) {
    const found = await run(instanceIdArgs(podman, list, entry.digest));
    const id = found.stdout.trim();
    // Nothing removed yet: a list left in build order is still a whole list, only not the same digest every time.
    if (found.exitCode !== 0 || !/^[0-9a-f]{64}$/.test(id))
      return { reordered: false, note: `list left in build order: no local image found for ${entry.digest}` };
    idOf.set(entry.digest, id);
  }
  for (const entry of moving) {
    const removed = await run(removeFromListArgs(podman, list, entry.digest));
    if (removed.exitCode !== 0) return fail('manifest remove', removed);
  }
  for (const entry of moving) {
    const added = await run(addLocalToListArgs(podman, list, idOf.get(entry.digest)!));
    if (added.exitCode !== 0) return fail('manifest add', added);
  }
  return { reordered: true };
}
