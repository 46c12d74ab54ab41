import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Invocation, ProcessOutcome } from '../../src/exec/runner.js';
import type { Script } from './fake-runner.js';

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
  fault: (argv: readonly string[]) => Partial<ProcessOutcome> | undefined = () => undefined;

  readonly script: Script = (invocation: Invocation) => {
    const argv = invocation.argv;
    if (typeof invocation.stdin === 'string') this.stdins.push(invocation.stdin);
    const fault = this.fault(argv);
    if (fault) return { exitCode: 125, ...fault };
    const [tool, verb, sub] = argv;
    const last = argv.at(-1) ?? '';
    const digestFile = argv[argv.indexOf('--digestfile') + 1];
    const option = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
    if (tool === 'podman' && verb === 'build') {
      const platforms = option('--platform')!.split(',');
      const list = option('--manifest');
      if (list) this.lists.set(list, platforms.map((platform) => ({ platform, digest: sha(`${list}${platform}${Math.random()}`) })));
      else this.images.set(option('--tag')!, platforms[0]!);
      return { lines: [`STEP 1/1: FROM base`, 'COMMIT'] };
    }
    if (tool === 'podman' && verb === 'push') {
      const source = argv.at(-2)!;
      const digest = sha(`${source}`);
      this.blobs.set(digest, JSON.stringify({ platform: this.images.get(source) }));
      writeFileSync(digestFile!, digest);
      return {};
    }
    if (tool === 'podman' && verb === 'rmi') {
      for (const name of argv.slice(2).filter((a) => !a.startsWith('--'))) {
        if (!this.lists.delete(name) && !this.images.delete(name) && !argv.includes('--ignore')) return { exitCode: 1, stderr: `Error: ${name}: image not known\n` };
      }
      return {};
    }
    if (tool === 'podman' && verb === 'manifest' && sub === 'create') {
      this.lists.set(last, []);
      return {};
    }
    if (tool === 'podman' && verb === 'manifest' && sub === 'add') {
      const digest = last.split('@')[1]!;
      const platform = (JSON.parse(this.blobs.get(digest) ?? '{}') as { platform?: string }).platform ?? 'unknown/unknown';
      this.lists.get(argv.at(-2)!)!.push({ platform, digest });
      return {};
    }
    if (tool === 'podman' && verb === 'manifest' && sub === 'push') {
      const entries = this.lists.get(argv.at(-2)!) ?? [];
      const raw = JSON.stringify({ schemaVersion: 2, manifests: entries.map((e) => ({ digest: e.digest, platform: { os: e.platform.split('/')[0], architecture: e.platform.split('/')[1] } })) });
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
      this.images.set(last.slice('containers-storage:'.length), `${option('--override-os')}/${option('--override-arch')}`);
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
