import { EXIT, reportDiagnostics, type Io } from '../io.js';
import { printable } from '../render/printable.js';
import { analyzeSpec, type SpecOptions } from './common.js';

export interface ValidateOptions extends SpecOptions {
  format: 'text' | 'json';
}

/** `orchestrate validate`: every diagnostic of the spec, exit 0 when it has no error, 2 when it has. */
export async function validateCommand(io: Io, options: ValidateOptions): Promise<number> {
  const analysis = await analyzeSpec(io, options);
  const file = analysis.source?.file;
  if (options.format === 'json') {
    io.stdout(JSON.stringify({ valid: analysis.ok, ...(file !== undefined && { file }), diagnostics: analysis.diagnostics }, null, 2) + '\n');
  } else {
    reportDiagnostics(io, analysis.diagnostics, analysis.source);
    if (analysis.ok) {
      const images = analysis.value.model.images.length;
      io.stdout(`${printable(analysis.value.source.file)}: valid, ${images} image${images === 1 ? '' : 's'}\n`);
    }
  }
  return analysis.ok ? EXIT.ok : EXIT.usage;
}
