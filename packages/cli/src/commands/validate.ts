import { unreachable } from '@multiarch/core';
import { EXIT, reportDiagnostics, type Io } from '../io.js';
import { printable } from '../render/printable.js';
import { analyzeSpec, type SpecOptions } from './common.js';

export const VALIDATE_FORMATS = ['text', 'json'] as const;

export interface ValidateOptions extends SpecOptions {
  format: (typeof VALIDATE_FORMATS)[number];
}

/** `orchestrate validate`: every diagnostic of the spec, exit 0 when it has no error, 2 when it has. */
export async function validateCommand(io: Io, options: ValidateOptions): Promise<number> {
  const analysis = await analyzeSpec(io, options);
  const file = analysis.source?.file;
  switch (options.format) {
    case 'json':
      io.stdout(
        JSON.stringify(
          { valid: analysis.ok, ...(file !== undefined && { file }), diagnostics: analysis.diagnostics },
          null,
          2,
        ) + '\n',
      );
      break;
    case 'text':
      reportDiagnostics(io, analysis.diagnostics, analysis.source);
      if (analysis.ok) {
        const images = analysis.value.model.images.length;
        io.stdout(`${printable(analysis.value.source.file)}: valid, ${images} image${images === 1 ? '' : 's'}\n`);
      }
      break;
    default:
      unreachable(options.format);
  }
  return analysis.ok ? EXIT.ok : EXIT.usage;
}
