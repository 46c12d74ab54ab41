import { formatArg, formatDuration, retryClass, unreachable, type Plan, type PlanTask } from '@multiarch/core';
import type { Colors } from 'picocolors/types.js';
import { tasksByImage } from './group.js';
import { printableDeep, shellDisplayWord } from './printable.js';

/**
 * The plan as a tree per image: every command that would run, where, and after what. Values
 * from the spec are shown with their control characters written out; commands keep their
 * exact words, quoted so that a pasted command runs them.
 */
export function renderPlanText(raw: Plan, c: Colors): string {
  const plan: Plan = {
    ...printableDeep(raw),
    tasks: raw.tasks.map((task) => {
      // Commands are quoted word by word where they are shown (shellDisplayWord): escaped twice, a pasted one would differ.
      const shown = { ...printableDeep(task), argv: task.argv };
      if (shown.kind === 'reset' && task.kind === 'reset') shown.ifNotAList = task.ifNotAList;
      return shown;
    }),
  };
  const out: string[] = [];
  const imageCount = Object.keys(plan.images).length;
  out.push(
    c.bold(`Plan for ${plan.spec}`) +
      c.dim(
        ` (format ${plan.formatVersion}): ${imageCount} image${imageCount === 1 ? '' : 's'}, ${plan.tasks.length} tasks, this machine is ${plan.localPlatform}`,
      ),
  );

  out.push('', c.bold('Hosts'));
  for (const [name, host] of Object.entries(plan.hosts)) {
    const where = host.kind === 'local' ? 'this machine' : (host.address ?? `podman connection ${host.connection}`);
    const extra =
      host.kind === 'local'
        ? host.emulate
          ? ', emulates other platforms with QEMU'
          : ', no emulation'
        : host.fallback === 'emulate'
          ? '; if it fails, its per-arch platforms are built here under QEMU'
          : '; if it fails, its platforms fail';
    out.push(
      `  ${name}  ${where}; builds ${host.platforms.join(', ')} natively; at most ${host.jobs} build${host.jobs === 1 ? '' : 's'} or smoke test${host.jobs === 1 ? '' : 's'} at once${extra}`,
    );
    if (host.kind === 'ssh') {
      const keys =
        host.knownHosts === undefined
          ? 'host key checked against ~/.ssh/known_hosts'
          : `host key checked against ${host.knownHosts}`;
      out.push(
        c.dim(
          `     ssh: one connection for the run${host.identityFile === undefined ? '' : `, key ${host.identityFile}`}, ${keys}, ${host.connectTimeout ?? 10}s to connect; contexts and authfile in ${host.workdir ?? '~/.cache/orchestrate'}/run-<run-id>-${name}, removed at the end`,
        ),
      );
    }
  }
  const registries = Object.entries(plan.registries);
  if (registries.length > 0) {
    out.push('', c.bold('Registries'));
    for (const [name, registry] of registries) {
      const auth =
        registry.auth === 'none'
          ? "podman's own credentials"
          : registry.auth === 'authfile'
            ? 'credentials from an authfile'
            : `login with $${registry.auth.slice(4)} on stdin`;
      out.push(`  ${name}  ${registry.url}; ${auth}${registry.tlsVerify ? '' : '; TLS not verified'}`);
    }
  }
  const secrets = Object.entries(plan.secrets);
  if (secrets.length > 0) {
    out.push(
      '',
      c.bold('Build secrets'),
      c.dim("  each written to a 0600 file of the run's directory, removed at the end"),
    );
    for (const [name, source] of secrets)
      out.push(`  ${name}  ${'env' in source ? `the value of $${source.env}` : `the content of ${source.file}`}`);
  }

  const byImage = tasksByImage(plan);
  // Tasks no one image owns: registry logins, and outside base images copied for per-arch builds.
  const shared = byImage.get(null) ?? [];
  if (shared.length > 0) {
    const logins = shared.some((t) => t.kind === 'login');
    const bases = shared.some((t) => t.kind === 'pull' || t.kind === 'local-base');
    out.push('', c.bold(logins && bases ? 'Logins and base images' : bases ? 'Base images' : 'Logins'));
    out.push(...renderTasks(shared, c));
  }
  for (const [name, image] of Object.entries(plan.images)) {
    const publishes = image.publishes.length > 0 ? ` -> ${image.publishes.join(', ')}` : c.dim(' (not published)');
    const after = image.dependsOn.length > 0 ? c.dim(`  after ${image.dependsOn.join(', ')}`) : '';
    out.push('', `${c.bold(c.cyan(name))}  ${image.strategy}  ${image.platforms.join(', ')}${publishes}${after}`);
    const inputs = Object.entries(image.inputs ?? {});
    // The first 12 hex digits, as git shortens: enough to tell two builds' inputs apart by eye.
    if (inputs.length > 0)
      out.push(c.dim(`  inputs  ${inputs.map(([platform, hash]) => `${platform} ${hash.slice(0, 12)}`).join(', ')}`));
    out.push(...renderTasks(byImage.get(name) ?? [], c));
  }
  if (plan.notes.length > 0) {
    out.push('', c.bold('Notes'));
    for (const note of plan.notes) out.push(`  - ${note}`);
  }
  return out.join('\n') + '\n';
}

function renderTasks(tasks: readonly PlanTask[], c: Colors): string[] {
  const lines: string[] = [];
  tasks.forEach((task, i) => {
    const last = i === tasks.length - 1;
    const branch = last ? '└─' : '├─';
    const stem = last ? '   ' : '│  ';
    const details = [
      `on ${task.host}`,
      task.placement,
      retryClass(task) === 'registry' ? 'retried on registry errors' : undefined,
      task.standIn
        ? `only if ${task.standIn.host} fails${task.standIn.for === undefined ? '' : `, standing in for ${task.standIn.for}`}`
        : undefined,
      ...kindDetails(task),
    ].filter((d): d is string => d !== undefined);
    lines.push(`  ${branch} ${c.bold(task.id)}  ${c.dim(details.join('; '))}`);
    lines.push(`  ${stem}   ${task.argv.map((arg) => shellDisplayWord(formatArg(arg))).join(' ')}`);
    if (task.dependsOn.length > 0) lines.push(`  ${stem}   ${c.dim(`after ${task.dependsOn.join(', ')}`)}`);
  });
  return lines;
}

/** What a task's kind adds to its line: what goes on stdin, what it checks, what it does besides its command. */
function kindDetails(task: PlanTask): (string | undefined)[] {
  switch (task.kind) {
    case 'login':
      return [`stdin: $${task.stdin.env}`];
    case 'secret':
      return [`stdin: build secret ${task.name}, into secrets/${task.name} (mode 0600)`];
    case 'upload': {
      const { upload } = task;
      return [
        `stdin: tar of ${upload.context}${upload.paths.length > 1 ? ` and ${upload.containerfile}` : ''} (without what .containerignore or .dockerignore leaves out), into ${upload.into}/`,
      ];
    }
    case 'verify':
      return [`expects ${task.expect.platforms.join(', ')}`];
    case 'test':
      return [task.expect === undefined ? undefined : `expects output /${task.expect.output}/`, timeoutDetail(task)];
    case 'reset':
      return [
        `a plain image of that name instead: ${task.ifNotAList.map((arg) => shellDisplayWord(formatArg(arg))).join(' ')}`,
      ];
    case 'build':
      return [
        task.orderList ? `then puts ${task.orderList.list}'s entries in platform order` : undefined,
        timeoutDetail(task),
      ];
    case 'cleanup':
      return ['runs even after a failure'];
    case 'local-base':
      return [
        task.host === 'local'
          ? `<image-id>: the ${task.platforms.join(', ')} image of ${task.reference} in this machine's storage`
          : `<image-id>: the ${task.platforms.join(', ')} image of ${task.reference} in ${task.host}'s storage, else this machine's, sent with podman save | podman load`,
      ];
    case 'pull':
    case 'push':
    case 'assemble':
    case 'stage':
    case 'publish':
      return [];
    default:
      return unreachable(task);
  }
}

function timeoutDetail(task: { timeoutMs?: number }): string | undefined {
  return task.timeoutMs === undefined ? undefined : `stopped after ${formatDuration(task.timeoutMs)}`;
}
