/**
 * What a task's command reads on stdin, kind by kind (the `input` of kinds.ts): a registry
 * password for `podman login --password-stdin`, a build context's tar stream, a build
 * secret's value. Never an argument, never in the environment of the command.
 */
import { Readable } from 'node:stream';
import type { TaskOf } from '../plan/types.js';
import { contextTar } from './context-upload.js';
import type { TaskFailure } from './failure.js';
import type { TaskContext } from './task.js';

type Input = { stdin: string | Readable } | { failure: TaskFailure };

export async function passwordInput(task: TaskOf<'login'>, ctx: TaskContext): Promise<Input> {
  const secret = task.stdin.env;
  const value = ctx.env[secret];
  if (value === undefined)
    return {
      failure: {
        reason: 'registry-auth',
        message: `${secret} is not set`,
        hint: `export ${secret} with the registry password or token`,
      },
    };
  return { stdin: value };
}

export async function contextInput(task: TaskOf<'upload'>, ctx: TaskContext): Promise<Input> {
  try {
    return { stdin: await contextTar(ctx.specDir, task.upload) };
  } catch (error) {
    return { failure: { reason: 'command-failed', message: `cannot send the context: ${(error as Error).message}` } };
  }
}

export async function secretInput(task: TaskOf<'secret'>, ctx: TaskContext): Promise<Input> {
  const value = ctx.secretValues.get(task.name);
  // checkRunInputs refused the run before it started if a secret could not be read.
  if (value === undefined)
    return { failure: { reason: 'command-failed', message: `internal: build secret ${task.name} was not read` } };
  return { stdin: Readable.from([value]) };
}
