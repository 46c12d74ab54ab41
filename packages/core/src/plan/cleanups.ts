/**
 * Per-run images to remove at the end: collected per (image, host) while the plan is made,
 * then one `always` cleanup task each, after everything that reads them.
 */
import type { Host, Image } from '../model/types.js';
import { removeImagesArgs } from './commands.js';
import { podmanOn } from './describe.js';
import type { Arg, PlanTask } from './types.js';

export class Cleanups {
  private readonly entries = new Map<string, { image: string; host: Host; images: Arg[]; after: string[] }>();

  /** Remember a per-run image on a host, and the tasks that read it. */
  later(host: Host, image: string, localImage: Arg, readers: readonly string[]): void {
    const key = `${image}@${host.name}`;
    const entry = this.entries.get(key) ?? { image, host, images: [], after: [] };
    entry.images.push(localImage);
    entry.after.push(...readers);
    this.entries.set(key, entry);
  }

  /** The cleanup tasks, given every task planned so far and each image's publishes. */
  tasks(
    planned: readonly PlanTask[],
    images: readonly Image[],
    publishes: ReadonlyMap<string, readonly string[]>,
  ): PlanTask[] {
    // Builds by "image@host", once: the cleanups below look up their dependents' builds there.
    const builds = new Map<string, string[]>();
    for (const task of planned.filter((t) => t.kind === 'build')) {
      const key = `${task.image}@${task.host}`;
      if (builds.has(key)) builds.get(key)!.push(task.id);
      else builds.set(key, [task.id]);
    }
    // Each image's dependents, once: a pass over all images per cleanup was quadratic.
    const dependents = new Map<string, string[]>();
    for (const image of images)
      for (const name of image.dependsOn) dependents.set(name, [...(dependents.get(name) ?? []), image.name]);
    return [...this.entries].map(([key, entry]) => {
      // A dependent built on this host pulls this image by digest, and podman reuses the local
      // copy of those layers: removing it under that build breaks it ("layer not known").
      const readers = (dependents.get(entry.image) ?? []).flatMap(
        (name) => builds.get(`${name}@${entry.host.name}`) ?? [],
      );
      return {
        id: `cleanup:${key}`,
        kind: 'cleanup',
        image: entry.image,
        platforms: [],
        host: entry.host.name,
        dependsOn: [...entry.after, ...(publishes.get(entry.image) ?? []), ...readers],
        argv: removeImagesArgs(podmanOn(entry.host), entry.images),
        // Per-run images go even when a test or publish failed: nothing else would remove them.
        always: true,
      };
    });
  }
}
