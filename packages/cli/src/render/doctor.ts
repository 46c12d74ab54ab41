/**
 * `orchestrate doctor`'s output: a table (status, check, subject, what was found, with the
 * fix under each row that is not a pass), or the report as JSON. The build's pre-flight
 * prints its failing rows with the same words.
 */
import type { Colors } from 'picocolors/types.js';
import { unreachable, type CheckResult, type CheckStatus, type DoctorReport } from '@multiarch/core';
import { printable } from './printable.js';

const STATUS_WIDTH = 'STATUS'.length;

function statusWord(status: CheckStatus, colors: Colors): string {
  const word = status.padEnd(STATUS_WIDTH);
  switch (status) {
    case 'pass':
      return colors.green(word);
    case 'warn':
      return colors.yellow(word);
    case 'fail':
      return colors.red(word);
    default:
      return unreachable(status);
  }
}

/** The rows, aligned; each fix (and the tool's own words, when they add to the message) indented under its row. */
export function renderChecks(checks: readonly CheckResult[], colors: Colors): string {
  const subjectWidth = Math.min(40, Math.max(7, ...checks.map((c) => printable(c.subject).length)));
  const checkWidth = Math.max(5, ...checks.map((c) => c.check.length));
  const indent = ' '.repeat(STATUS_WIDTH + 2 + checkWidth + 2 + subjectWidth + 2);
  const lines = [colors.dim(`STATUS  ${'CHECK'.padEnd(checkWidth)}  ${'SUBJECT'.padEnd(subjectWidth)}  RESULT`)];
  for (const c of checks) {
    lines.push(
      `${statusWord(c.status, colors)}  ${c.check.padEnd(checkWidth)}  ${printable(c.subject).padEnd(subjectWidth)}  ${printable(c.message)}`,
    );
    if (c.status !== 'pass' && c.fix !== undefined) lines.push(`${indent}${colors.cyan('fix:')} ${printable(c.fix)}`);
    if (c.status !== 'pass' && c.detail !== undefined && !c.message.includes(c.detail))
      lines.push(`${indent}${colors.dim(`said: ${printable(c.detail)}`)}`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderDoctorText(report: DoctorReport, colors: Colors): string {
  const count = (status: CheckStatus): number => report.checks.filter((c) => c.status === status).length;
  const summary = `${count('pass')} passed, ${count('warn')} warned, ${count('fail')} failed`;
  return `${renderChecks(report.checks, colors)}\n${report.status === 'fail' ? colors.red(summary) : summary}\n`;
}

export function renderDoctorJson(report: DoctorReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
