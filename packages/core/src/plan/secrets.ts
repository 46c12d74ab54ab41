/**
 * Build secrets in the plan: each distinct source (an environment variable, a file) gets a
 * name (`env-NPM_TOKEN`, `file-1`) under plan.secrets; builds pass `--secret id=ID,src=FILE`
 * with the file the executor writes it to, and a build host first gets a `secret` task that
 * writes it there from ssh's stdin. The plan holds where values come from, never a value.
 */
import type { Host, Image } from '../model/types.js';
import { writeSecretArgs } from './commands.js';
import type { PlanSecret, PlanTask } from './types.js';

export class PlanSecrets {
  readonly secrets: Record<string, PlanSecret> = {};
  private readonly byFile = new Map<string, string>();
  private readonly sent = new Set<string>();

  /** The image's secrets, each with the plan.secrets name of its value. */
  of(image: Image): { id: string; name: string }[] {
    return image.secrets.map(({ id, source }) => ({ id, name: this.name(source) }));
  }

  /** The `secret` tasks a build of these secrets on an ssh host waits for (one per secret and host). */
  sendTo(host: Host, secrets: readonly { name: string }[], add: (task: PlanTask) => string): string[] {
    if (host.kind !== 'ssh') return [];
    // Two ids may read one source: one task for it.
    return [...new Set(secrets.map(({ name }) => name))].map((name) => {
      const id = `secret:${name}@${host.name}`;
      if (!this.sent.has(id)) {
        this.sent.add(id);
        add({
          id,
          kind: 'secret',
          image: null,
          platforms: [],
          host: host.name,
          dependsOn: [],
          argv: writeSecretArgs(name),
          name,
        });
      }
      return id;
    });
  }

  private name(source: PlanSecret): string {
    if ('env' in source) {
      const name = `env-${source.env}`;
      this.secrets[name] = source;
      return name;
    }
    let name = this.byFile.get(source.file);
    if (name === undefined) {
      name = `file-${this.byFile.size + 1}`;
      this.byFile.set(source.file, name);
      this.secrets[name] = source;
    }
    return name;
  }
}
