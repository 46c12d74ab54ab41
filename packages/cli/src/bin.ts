import { main } from './program.js';
import { processIo } from './io.js';
import { noWorkflowCommands, printable } from './render/printable.js';

main(process.argv.slice(2), processIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // The message may quote a spec value: written out, as every value we print is; the stack frames as they are.
    const message = error instanceof Error ? error.message : String(error);
    const frames = error instanceof Error ? (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line)) : [];
    process.stderr.write(
      noWorkflowCommands(`orchestrate: internal error: ${printable(message)}\n${frames.map((f) => `${f}\n`).join('')}`),
    );
    process.exitCode = 1;
  },
);
