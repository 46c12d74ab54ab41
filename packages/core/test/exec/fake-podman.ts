import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Invocation, ProcessOutcome } from '../../src/exec/runner.js';
import { optionValue, type Script } from './fake-runner.js';

const sha = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const UNAME: Record<string, string> = { 'linux/amd64': 'x86_64', 'linux/arm64': 'aarch64', 'linux/s390x': 's390x' };

/**
 * Just enough of podman and skopeo, in memory, for the executor's logic: local lists,
 * pushes that write digest files, a registry of manifests by digest, tags. Faults are
 * injected by a predicate on the argv.
 */
export class FakePodman {
  readonly lists = new Map<string, { platform: string; digest: string }[]>();
  readonly images = new Map<string, string>(); // local name -> platform
  readonly blobs = new Map<string, string>(); // digest -> raw manifest
  readonly tags = new Map<string, string>(); // repo:tag -> digest
  readonly stdins: string[] = [];
  /** Images built into lists, untagged: digest -> image id and platform. */
  readonly instances = new Map<string, { id: string; platform: string }>();
  fault: (argv: readonly string[]) => Partial<ProcessOutcome> | undefined = () => undefined;

  readonly script: Script = (invocation: Invocation) => {
    const argv = invocation.argv;
    if (typeof invocation.stdin === 'string') this.stdins.push(invocation.stdin);
    const fault = this.fault(argv);
    if (fault) return { exitCode: 125, ...fault };
    const [tool, verb, sub] = argv;
    const last = argv.at(-1) ?? '';
    const option = (name: string): string | undefined => optionValue(argv, name);
    const digestFile = option('--digestfile');
    if (tool === 'podman' && verb === 'build') {
      const platforms = option('--platform')!.split(',');
      const list = option('--manifest');
      // As podman does: a list already under that name is added to, not replaced, and each
      // platform joins it as it finishes (here: last named, first done).
      if (list) {
        const built = platforms
          .map((platform) => ({ platform, digest: sha(`${list}${platform}${Math.random()}`) }))
          .reverse();
        for (const entry of built)
          this.instances.set(entry.digest, { id: sha(entry.digest).slice(7), platform: entry.platform });
        this.lists.set(list, [...(this.lists.get(list) ?? []), ...built]);
      } else this.images.set(option('--tag')!, platforms[0]!);
      return { lines: [`STEP 1/1: FROM base`, 'COMMIT'] };
    }
    if (tool === 'podman' && verb === 'push') {
      const source = argv.at(-2)!;
      const digest = sha(source);
      this.blobs.set(digest, JSON.stringify({ platform: this.images.get(source) }));
      writeFileSync(digestFile!, digest);
      return {};
    }
    if (tool === 'podman' && verb === 'rmi') {
      for (const name of argv.slice(2).filter((a) => !a.startsWith('--'))) {
        // podman 4.3's rmi cannot remove a manifest list, --ignore or not.
        if (this.lists.has(name)) return { exitCode: 1, stderr: `Error: ${name}: tag not known\n` };
        if (!this.lists.delete(name) && !this.images.delete(name) && !argv.includes('--ignore'))
          return { exitCode: 1, stderr: `Error: ${name}: image not known\n` };
      }
      return {};
    }
    if (tool === 'podman' && verb === 'manifest' && sub === 'rm') {
      return this.lists.delete(last) || this.images.delete(last)
        ? {}
        : { exitCode: 1, stderr: `Error: ${last}: image not known\n` };
    }
    if (tool === 'podman' && verb === 'manifest' && sub === 'create') {
      if (this.lists.has(last))
        return {
          exitCode: 125,
          stderr: `Error: creating manifest: image name "${last}" is already associated with image "0123"\n`,
        };
      this.lists.set(last, []);
      return {};
    }
    if (tool === 'podman' && verb === 'manifest' && sub === 'inspect') {
      const entries = this.lists.get(last);
      if (!entries) return { exitCode: 125, stderr: `Error: ${last}: image not known\n` };
      return {
        stdout: JSON.stringify({
          schemaVersion: 2,
          manifests: entries.map((e) => ({
            digest: e.digest,
            platform: { os: e.platform.split('/')[0], architecture: e.platform.split('/')[1] },
          })),
        }),
      };
    }
    if (tool === 'podman' && verb === 'image' && sub === 'inspect') {
      const instance = this.instances.get(last.split('@')[1] ?? '');
      return instance ? { stdout: `${instance.id}\n` } : { exitCode: 125, stderr: `Error: ${last}: image not known\n` };
    }
    if (tool === 'podman' && verb === 'manifest' && sub === 'remove') {
      const entries = this.lists.get(argv.at(-2)!) ?? [];
      this.lists.set(
        argv.at(-2)!,
        entries.filter((e) => e.digest !== last),
      );
      return {};
    }
    if (tool === 'podman' && verb === 'manifest' && sub === 'add' && last.startsWith('containers-storage:@')) {
      const id = last.slice('containers-storage:@'.length);
      const found = [...this.instances].find(([, instance]) => instance.id === id);
      if (!found) return { exitCode: 125, stderr: 'Error: identifier is not an image\n' };
      this.lists.get(argv.at(-2)!)!.push({ platform: found[1].platform, digest: found[0] });
      return {};
    }
    if (tool === 'podman' && verb === 'manifest' && sub === 'add') {
      const digest = last.split('@')[1]!;
      const platform =
        (JSON.parse(this.blobs.get(digest) ?? '{}') as { platform?: string }).platform ?? 'unknown/unknown';
      this.lists.get(argv.at(-2)!)!.push({ platform, digest });
      return {};
    }
    if (tool === 'podman' && verb === 'manifest' && sub === 'push') {
      const entries = this.lists.get(argv.at(-2)!) ?? [];
      const raw = JSON.stringify({
        schemaVersion: 2,
        manifests: entries.map((e) => ({
          digest: e.digest,
          platform: { os: e.platform.split('/')[0], architecture: e.platform.split('/')[1] },
        })),
      });
      const digest = sha(raw);
      this.blobs.set(digest, raw);
      writeFileSync(digestFile!, digest);
      return {};
    }
    if (tool === 'skopeo' && verb === 'inspect') {
      const raw = this.blobs.get(last.split('@')[1]!);
      return raw === undefined ? { exitCode: 1, stderr: 'manifest unknown' } : { stdout: `${raw}\n` };
    }
    if (tool === 'skopeo' && verb === 'copy' && last.startsWith('containers-storage:')) {
      this.images.set(
        last.slice('containers-storage:'.length),
        `${option('--override-os')}/${option('--override-arch')}`,
      );
      return {};
    }
    if (tool === 'skopeo' && verb === 'copy') {
      this.tags.set(last.replace('docker://', ''), argv.at(-2)!.split('@')[1]!);
      return {};
    }
    if (tool === 'podman' && verb === 'run') return { stdout: `${UNAME[option('--platform')!] ?? '?'}\n` };
    return {};
  };
}
