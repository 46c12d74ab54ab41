/**
 * `orchestrate doctor`: checks that this machine, the spec's registries and its build hosts
 * can run the spec's plan. Exit 0 when nothing failed (warnings allowed), 1 when a check
 * failed, 2 when the spec itself is wrong (as every command).
 */
import { LocalRunner, runDoctor, secretEnvOf, unreachable } from '@multiarch/core';
import { EXIT, type Io } from '../io.js';
import { renderDoctorJson, renderDoctorText } from '../render/doctor.js';
import { makePlan, type SpecOptions } from './common.js';

export const DOCTOR_OUTPUTS = ['text', 'json'] as const;

export interface DoctorOptions extends SpecOptions {
  output: (typeof DOCTOR_OUTPUTS)[number];
}

export async function doctorCommand(io: Io, options: DoctorOptions): Promise<number> {
  // The spec's own warnings (a short name in FROM) are rows of the table, not printed apart.
  const made = await makePlan(io, { ...options, image: [], platform: [], push: true }, { warnings: false });
  if ('exitCode' in made) return made.exitCode;
  const { plan, analysis } = made;
  const report = await runDoctor({
    plan,
    model: analysis.model,
    specDir: analysis.specDir,
    diagnostics: made.diagnostics,
    env: io.env,
    // The probes never inherit the spec's secrets (the login reads its password on stdin).
    runner: new LocalRunner(undefined, secretEnvOf(plan)),
  });
  switch (options.output) {
    case 'json':
      io.stdout(renderDoctorJson(report));
      break;
    case 'text':
      io.stdout(renderDoctorText(report, io.colors.stdout));
      break;
    default:
      unreachable(options.output);
  }
  return report.status === 'fail' ? EXIT.failed : EXIT.ok;
}
