import path from 'node:path';
import pc from 'picocolors';
import type { Colors } from 'picocolors/types.js';
import { renderDiagnostics } from './render/diagnostics.js';
import { noWorkflowCommands } from './render/printable.js';
import { MAX_SPEC_BYTES, readRegularFile, type Diagnostic, type SpecSource } from '@multiarch/core';

/** Exit codes, as documented: 0 done, 1 a task failed, 2 the spec or the command line is wrong, 130 interrupted. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export interface Io {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Colors for stdout and stderr, off when they are not terminals or NO_COLOR is set. */
  colors: { stdout: Colors; stderr: Colors };
  /** Whether stdout is a terminal wide enough for a live view (a pseudo-terminal that reports no width is not). */
  terminal?: boolean;
  /** Called once when the reader of stdout or stderr went away (`orchestrate build | head`): output stops there. */
  onOutputClosed?: (listener: () => void) => void;
}

export function processIo(): Io {
  const colorFor = (stream: NodeJS.WriteStream): Colors => {
    const env = process.env;
    const enabled =
      env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0'
        ? true
        : env['NO_COLOR'] === undefined && stream.isTTY && env['TERM'] !== 'dumb';
    return pc.createColors(enabled);
  };
  // A closed pipe is an EPIPE error event on the stream, never to be thrown: nothing is written
  // to that stream again, and whoever listens (a build) winds down as on Ctrl-C.
  const listeners: (() => void)[] = [];
  const closed = new Set<NodeJS.WriteStream>();
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
      if (closed.size === 0) for (const listener of listeners.splice(0)) listener();
      closed.add(stream);
    });
  }
  // Every line leaving the process: whatever a value put at a line's start, no CI runner obeys it.
  const writer = (stream: NodeJS.WriteStream) => (text: string) => {
    if (!closed.has(stream)) stream.write(noWorkflowCommands(text));
  };
  return {
    cwd: process.cwd(),
    env: process.env,
    stdout: writer(process.stdout),
    stderr: writer(process.stderr),
    colors: { stdout: colorFor(process.stdout), stderr: colorFor(process.stderr) },
    // A pseudo-terminal may report no width (columns 0 or undefined): one character per line.
    terminal: process.stdout.isTTY && ((process.stdout.columns as number | undefined) ?? 0) >= 20,
    onOutputClosed: (listener) => void listeners.push(listener),
  };
}

/**
 * Prints diagnostics to stderr with code frames (the first 100), reading other files
 * (Containerfiles) only to show them: regular files only, of at most a spec's size (a
 * diagnostic may be about a FIFO or a device, which must not be read).
 */
export function reportDiagnostics(io: Io, diagnostics: readonly Diagnostic[], source?: SpecSource): void {
  if (diagnostics.length === 0) return;
  const framed = new Set(diagnostics.flatMap((d) => (d.range && d.file !== undefined ? [d.file] : [])));
  const textOf = (file: string): string | undefined => {
    if (source && file === source.file) return source.text;
    if (!framed.has(file)) return undefined;
    return readRegularFile(path.resolve(io.cwd, file), MAX_SPEC_BYTES)?.content.toString('utf8');
  };
  io.stderr(renderDiagnostics(diagnostics, textOf, io.colors.stderr));
}
