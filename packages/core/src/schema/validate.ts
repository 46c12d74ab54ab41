import type { ErrorObject } from 'ajv';
import type { Diagnostic, DiagnosticCode } from '../diagnostics.js';
import type { PathSegment, SpecSource } from '../config/source.js';
import { quoteList, suggestion } from '../util/suggest.js';
import validate from './validate.generated.js';

const SECRET_KEY = /pass(word)?$|token|secret|credential/i;

/**
 * Validates the spec against schemas/multiarch.schema.json (compiled at build time)
 * and turns every ajv error into a Diagnostic that points at the offending key or value.
 */
export function validateSchema(source: SpecSource): Diagnostic[] {
  if (validate(source.data)) return [];
  const seen = new Set<string>();
  const diagnostics: Diagnostic[] = [];
  for (const error of validate.errors ?? []) {
    const diagnostic = toDiagnostic(source, error);
    if (!diagnostic) continue;
    const key = `${diagnostic.code}:${diagnostic.range?.start.line}:${diagnostic.range?.start.col}:${diagnostic.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    diagnostics.push(diagnostic);
  }
  return diagnostics;
}

function toDiagnostic(source: SpecSource, error: ErrorObject): Diagnostic | undefined {
  const path = pointerToPath(source.data, error.instancePath);
  const where = describePath(path);
  const base = (code: DiagnosticCode, message: string, hint?: string, part: 'key' | 'value' = 'value'): Diagnostic => {
    const range = source.locate(path, part);
    return {
      severity: 'error',
      code,
      message,
      file: source.file,
      ...(range && { range }),
      ...(hint !== undefined && { hint }),
    };
  };
  const params = error.params as Record<string, unknown>;

  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params['additionalProperty']);
      const keyPath = [...path, key];
      const range = source.locate(keyPath, 'key');
      const known = Object.keys((error.parentSchema?.['properties'] as object | undefined) ?? {});
      const secret = path.at(-1) === 'auth' && SECRET_KEY.test(key);
      return {
        severity: 'error',
        code: secret ? 'inline-secret' : 'unknown-key',
        message: secret
          ? `a secret is written inline as "${key}"${where ? ` in ${where}` : ''}`
          : `unknown key "${key}"${where ? ` in ${where}` : ''}`,
        file: source.file,
        ...(range && { range }),
        hint: secret
          ? 'never commit a secret: name the environment variable that holds it with passwordEnv, or use an authfile'
          : key === '<<'
            ? 'YAML merge keys (<<, from YAML 1.1) are not read: put shared keys under defaults:, or an anchor on each value (platforms: *platforms)'
            : suggestion(key, known, 'keys here'),
      };
    }
    case 'required': {
      const missing = String(params['missingProperty']);
      return base(
        'missing-key',
        `${where || 'the spec'} is missing the required key "${missing}"`,
        requiredHint(missing),
        'key',
      );
    }
    case 'type':
      if (path.length === 0) {
        return base(
          'not-a-mapping',
          error.data == null ? 'the spec is empty' : `the spec is ${typeName(error.data)}, not a mapping of keys`,
          'a spec is a mapping with at least "version: 1" and "images:" (see examples/hello/multiarch.yaml)',
        );
      }
      return base(
        'wrong-type',
        `${where} should be ${article(String(params['type']))}, not ${typeName(error.data)}`,
        // A bare number as a timeout lacks its unit, not its quotes: "90" is no duration either.
        path.at(-1) === 'timeout' && typeof error.data === 'number'
          ? `give it its unit: ${error.data}s, ${error.data}m or ${error.data}h`
          : typeHint(String(params['type']), error.data),
      );
    case 'const':
      if (path.length === 1 && path[0] === 'version') {
        return base(
          'unsupported-version',
          `spec version ${JSON.stringify(error.data)} is not supported`,
          'write "version: 1"',
        );
      }
      return base('invalid-value', `${where} must be ${JSON.stringify(params['allowedValue'])}`);
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]).map(String);
      return base(
        'invalid-value',
        `${where} is ${JSON.stringify(error.data)}, which is not one of ${quoteList(allowed)}`,
        suggestion(String(error.data), allowed, 'values'),
      );
    }
    case 'pattern':
      return patternDiagnostic(source, path, error, base);
    case 'propertyNames':
      return undefined; // the nested "pattern" error that comes with it says more
    case 'minItems':
    case 'minProperties':
      return base('invalid-value', `${where} must not be empty`);
    case 'minLength':
      return base('invalid-value', `${where} must not be an empty string`);
    case 'uniqueItems': {
      // Point at the later of the two: that is the one to remove.
      const later = Math.max(Number(params['i']), Number(params['j']));
      const range = source.locate([...path, later]) ?? source.locate(path);
      return {
        severity: 'error',
        code: 'invalid-value',
        message: `${where} lists ${JSON.stringify((error.data as unknown[])[later])} twice`,
        file: source.file,
        ...(range && { range }),
        hint: 'remove the duplicate',
      };
    }
    case 'minimum':
    case 'maximum':
      return base(
        'invalid-value',
        `${where} must be ${error.keyword === 'minimum' ? 'at least' : 'at most'} ${String(params['limit'])}`,
      );
    default:
      return base('invalid-value', `${where || 'the spec'} ${error.message ?? 'is invalid'}`);
  }
}

function patternDiagnostic(
  source: SpecSource,
  path: PathSegment[],
  error: ErrorObject,
  base: (code: DiagnosticCode, message: string, hint?: string, part?: 'key' | 'value') => Diagnostic,
): Diagnostic {
  // ajv reports a bad key (propertyNames) with the key's name on the error.
  const propertyName = (error as ErrorObject & { propertyName?: string }).propertyName;
  if (propertyName !== undefined) {
    const keyPath = [...path, propertyName];
    const range = source.locate(keyPath, 'key');
    const parent = path.at(-1);
    const rule =
      parent === 'images'
        ? 'an image name is a repository path: lower-case letters and digits, separated by ".", "_", "-" or "/"'
        : parent === 'variables' || parent === 'buildArgs'
          ? 'a variable name is letters, digits and "_", not starting with a digit'
          : 'a name is lower-case letters, digits, "-" and "_"';
    return {
      severity: 'error',
      code: 'invalid-name',
      message: `"${propertyName}" is not a valid name in ${describePath(path)}`,
      file: source.file,
      ...(range && { range }),
      hint: rule,
    };
  }
  if (path.includes('platforms')) {
    return base(
      'invalid-platform',
      `${JSON.stringify(error.data)} is not a platform`,
      'write os/arch or os/arch/variant, e.g. "linux/arm64" or "linux/arm/v7"',
    );
  }
  return base('invalid-value', `${describePath(path)} does not match ${(error.params as { pattern: string }).pattern}`);
}

function typeHint(type: string, data: unknown): string | undefined {
  if (type === 'array')
    return typeof data === 'string' ? `write a list: [${data}]` : 'write a list: [a, b] or one "- item" per line';
  if (type === 'object') return 'write a mapping: one "key: value" per line, indented below';
  if (type === 'integer' || type === 'number') return 'write the number without quotes';
  if (type === 'boolean') return 'write true or false, without quotes';
  if (type.includes('string') && typeof data === 'number')
    return `quote it: YAML reads ${JSON.stringify(data)} as a number`;
  return undefined;
}

function requiredHint(key: string): string | undefined {
  switch (key) {
    case 'images':
      return 'add "images:" with at least one image, e.g. "app: { context: . }"';
    case 'version':
      return 'add "version: 1" at the top of the file';
    case 'context':
      return 'add "context: DIR", the directory to build in, relative to this file';
    case 'url':
      return 'add "url: REGISTRY/NAMESPACE", e.g. docker.io/acme';
    default:
      return undefined;
  }
}

/** JSON Pointer to path segments, with array indexes as numbers (as the YAML locator needs them). */
function pointerToPath(data: unknown, pointer: string): PathSegment[] {
  if (pointer === '') return [];
  const path: PathSegment[] = [];
  let value = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const segment: PathSegment = Array.isArray(value) ? Number(key) : key;
    path.push(segment);
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  return path;
}

/** `images.api.platforms[1]`: how a person names a place in the spec. */
export function describePath(path: readonly PathSegment[]): string {
  return path
    .map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : i === 0 ? segment : `.${segment}`))
    .join('');
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${article(typeof value)} (${JSON.stringify(value)})`;
}

function article(type: string): string {
  const words: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'a string',
    integer: 'a whole number',
    number: 'a number',
    boolean: 'true or false',
  };
  return type
    .split(',')
    .map((t) => words[t] ?? t)
    .join(' or ');
}
