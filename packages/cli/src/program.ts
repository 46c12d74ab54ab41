import { createRequire } from 'node:module';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_REGISTRY_IDLE_MS, formatDuration, parseDuration, parseTimeout } from '@multiarch/core';
import { BUILD_OUTPUTS, buildCommand, type BuildCommandOptions } from './commands/build.js';
import {
  collectList,
  CONFIG_FORMAT_ENV,
  configFormatOption,
  FALLBACK_MODES,
  nonNegativeInteger,
  platformOption,
  positiveInteger,
} from './commands/common.js';
import { initCommand, type InitOptions } from './commands/init.js';
import { keygenCommand, type KeygenOptions } from './commands/keygen.js';
import { DOCTOR_OUTPUTS, doctorCommand, type DoctorOptions } from './commands/doctor.js';
import { PLAN_FORMATS, planCommand, type PlanCommandOptions } from './commands/plan.js';
import { VALIDATE_FORMATS, validateCommand, type ValidateOptions } from './commands/validate.js';
import { EXIT, type Io } from './io.js';

/** --registry-timeout: a duration with its unit, at least a second; 0 or off: no limit. */
function durationOption(value: string): number {
  if (value === '0' || value === 'off') return 0;
  const ms = parseDuration(value);
  if (ms === undefined || ms < 1_000)
    throw new InvalidArgumentError(
      'expected a duration of at least 1s with its unit (e.g. 90s, 5m, 1h), or 0 for no limit',
    );
  return ms;
}

/** --timeout: as a spec's `timeout:` is written, and checked the same way. */
function timeoutOption(value: string): number {
  const parsed = parseTimeout(value);
  if (!parsed.ok) throw new InvalidArgumentError(`${parsed.message} (${parsed.hint})`);
  return parsed.ms;
}

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/**
 * The command line. Commands return their exit code; commander's own errors (unknown
 * option, bad choice) exit 2, as every usage error does.
 */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command('orchestrate')
    .description('Build multi-architecture container images from multiarch.yaml with podman.')
    .version(version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();

  const fallbackOption = (): Option =>
    new Option(
      '--fallback <mode>',
      "when a build host fails: fail its platforms, or emulate them here under QEMU (overrides each host's fallback)",
    ).choices(FALLBACK_MODES);
  const specOptions = (command: Command): Command =>
    command
      .option('-c, --config <file>', 'spec file to use instead of searching for multiarch.yaml upward from here')
      .addOption(
        new Option(
          '--config-format <formats>',
          `spec formats allowed, comma-separated: yaml, json, js (js configs are executed to be read; CI can refuse them with yaml,json; default: ${CONFIG_FORMAT_ENV}, else all)`,
        ).argParser(configFormatOption),
      )
      .addOption(
        new Option(
          '--local-platform <platform>',
          'plan as if this machine built this platform natively (default: detected)',
        ).argParser(platformOption),
      )
      .addOption(
        new Option('--local-jobs <n>', 'plan as if this machine had this many cores (default: detected)').argParser(
          positiveInteger,
        ),
      );
  // What shapes a plan, the same for `plan` and `build`: the two make one plan.
  const planOptions = (command: Command): Command =>
    specOptions(command)
      .option(
        '--image <name>',
        'only this image and what it depends on (repeatable, or comma-separated)',
        collectList,
        [],
      )
      .option(
        '--platform <platform>',
        'only these platforms; narrowed images are not published (repeatable)',
        collectList,
        [],
      )
      .option('--no-push', 'build and test only: no login, push or publish')
      .addOption(fallbackOption());

  planOptions(
    program
      .command('plan')
      .description('Show what `build` would run, without running anything (a dry run).')
      .addOption(
        new Option('-f, --format <format>', 'output format; json is exactly what build consumes')
          .choices(PLAN_FORMATS)
          .default('text'),
      ),
  ).action(async (options: PlanCommandOptions) => {
    exitCode = await planCommand(io, options);
  });

  planOptions(
    program
      .command('build')
      .description(
        'Build, test, push, verify and publish what the plan says, with podman. Exit 0 if all went well, 1 if a task failed.',
      )
      .option(
        '--plan <file>',
        'run this plan, saved by `plan --format json`, instead of planning now (refused if its spec or Containerfiles changed)',
      )
      .addOption(
        new Option(
          '-j, --jobs <n>',
          "at most this many tasks at once (default: twice the sum of the hosts' jobs; a host's jobs caps its builds and tests)",
        ).argParser(positiveInteger),
      )
      .option('-k, --keep-going', 'after a failure, go on with everything that does not depend on it', false)
      .addOption(
        new Option('--retries <n>', 'retries of a registry operation that failed transiently (5xx, 429, reset)')
          .argParser(nonNegativeInteger)
          .default(4),
      )
      .addOption(
        new Option(
          '--registry-timeout <duration>',
          'stop and retry a registry operation here that printed nothing and moved no byte for this long (e.g. 90s, 5m; 0: no limit)',
        )
          .argParser(durationOption)
          .default(DEFAULT_REGISTRY_IDLE_MS, formatDuration(DEFAULT_REGISTRY_IDLE_MS)),
      )
      .addOption(
        new Option(
          '--timeout <duration>',
          'stop the whole run after this long, as Ctrl-C would, and fail it (exit 1); e.g. 45m, 2h. Builds and smoke tests have their own: timeout: in the spec',
        ).argParser(timeoutOption),
      )
      .option(
        '--report <file>',
        "write a JSON report of every task (times, status, digests, failures with the tool's own output)",
      )
      .option('-v, --verbose', 'under each failure, the podman/skopeo/ssh output it was translated from', false)
      .addOption(
        new Option('-o, --output <format>', 'progress: text (live in a terminal, plain lines otherwise) or json lines')
          .choices(BUILD_OUTPUTS)
          .default('text'),
      ),
  ).action(async (options: BuildCommandOptions) => {
    exitCode = await buildCommand(io, options);
  });

  specOptions(
    program
      .command('validate')
      .description('Check the spec and report every problem with its place in the file. Exit 0 if valid, 2 if not.')
      .addOption(new Option('-f, --format <format>', 'output format').choices(VALIDATE_FORMATS).default('text')),
  ).action(async (options: ValidateOptions) => {
    exitCode = await validateCommand(io, options);
  });

  program
    .command('init')
    .description(
      'Write multiarch.yaml from the Containerfiles and Dockerfiles below DIR: one image per file, named after its folder, dependencies left to the FROM lines. Exit 0 written, 2 if not.',
    )
    .argument('[dir]', 'the project folder (default: here)')
    .option('--force', 'replace a multiarch.yaml that is there already', false)
    .option(
      '--platforms-from-registry',
      "read each outside base image's platforms from its registry with skopeo (network); localhost/ bases are read from podman's storage anyway. Default platforms otherwise: linux/amd64, linux/arm64",
      false,
    )
    .addHelpText(
      'after',
      '\nAlso found: Dockerfile.NAME, Containerfile.NAME and NAME.Dockerfile variants. Skipped: node_modules, vendor, third_party and hidden folders.\n',
    )
    .action(async (dir: string | undefined, options: InitOptions) => {
      exitCode = await initCommand(io, dir, options);
    });
  program
    .command('keygen')
    .description(
      'Write a sigstore signing key pair: NAME.key (private, encrypted with a passphrase, mode 0600; cosign-compatible) and NAME.pub. Exit 0 written, 2 if not.',
    )
    .argument('<name>', 'the files to write, without extension (e.g. keys/release: keys/release.key, keys/release.pub)')
    .option(
      '--passphrase-env <var>',
      'read the passphrase from this environment variable (default: asked twice on the terminal)',
    )
    .option('--force', 'replace NAME.key and NAME.pub if they are there', false)
    .action(async (name: string, options: KeygenOptions) => {
      exitCode = await keygenCommand(io, name, options);
    });
  specOptions(
    program
      .command('doctor')
      .description(
        "Check that this machine, the spec's registries and its build hosts can run the build: tools, QEMU, TLS, logins, ssh, disk. Exit 0 if nothing failed, 1 if a check failed.",
      )
      .addOption(
        new Option('-o, --output <format>', 'a table, or the report as JSON').choices(DOCTOR_OUTPUTS).default('text'),
      ),
  ).action(async (options: DoctorOptions) => {
    exitCode = await doctorCommand(io, options);
  });

  program.addHelpText(
    'after',
    '\nExit codes: 0 done, 1 a task failed, 2 the spec or the command line is wrong, 130 interrupted.\nThe spec: multiarch.yaml (schema: schemas/multiarch.schema.json).',
  );

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    throw error;
  }
  return exitCode;
}
