/**
 * Build secrets (`secrets:` at the top and per image): resolved to where each value comes
 * from, never to the value itself, which the model and the plan never hold. Pure.
 */
import path from 'node:path/posix';
import type { ResolveContext, SpecFiles } from './context.js';
import type { SpecDocument } from './spec.js';
import type { BuildSecret } from './types.js';

type SecretsSpec = NonNullable<SpecDocument['secrets']>;

/** A secret file's path as the model keeps it: posix separators, normalised (the same for the check and the plan). */
function secretPath(file: string): string {
  return path.normalize(file.replaceAll('\\', '/'));
}

/** The top-level secrets with the image's own over them (the same id: the image's), in id order. */
export function mergeBuildSecrets(top: SecretsSpec | undefined, own: SecretsSpec | undefined): BuildSecret[] {
  const merged = new Map(Object.entries({ ...top, ...own }));
  return [...merged.keys()]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((id) => {
      const secret = merged.get(id)!;
      return {
        id,
        source: 'env' in secret ? { env: secret.env } : { file: secretPath(secret.file) },
      };
    });
}

/** Each file a `secrets:` mapping (at `at`) names exists; read for that only, its content being the secret. */
export function checkSecretFiles(
  ctx: ResolveContext,
  at: (string | number)[],
  secrets: SecretsSpec | undefined,
  files: SpecFiles,
): void {
  for (const [id, secret] of Object.entries(secrets ?? {})) {
    if ('env' in secret) continue;
    const file = secretPath(secret.file);
    if (!files.exists(file))
      ctx.error(
        'file-unreadable',
        [...at, id, 'file'],
        `build secret "${id}" reads ${file}, which does not exist`,
        "the path is relative to the spec's directory (or ~/...); create it, or take the value from the environment: { env: NAME }",
      );
  }
}

/** Names that say they hold a secret: TOKEN, PASSWORD, SECRET, API_KEY... as a word of an ARG name. */
const SECRET_WORD =
  /(?:^|_)(?:TOKEN|PASSWORD|PASSWD|PASS|SECRET|APIKEY|API_KEY|ACCESS_KEY|PRIVATE_KEY|SECRET_KEY|KEY|CREDENTIALS?|AUTH)(?:_|$)/i;

/** A build arg whose name looks secret: its value stays in the image's history for anyone who pulls it. */
export function checkSecretLookingBuildArgs(ctx: ResolveContext, image: string, names: readonly string[]): void {
  for (const name of names) {
    if (!SECRET_WORD.test(name)) continue;
    const id = name.toLowerCase();
    ctx.report(
      'warning',
      'secret-build-arg',
      ['images', image, 'buildArgs', name],
      `build arg ${name} looks like a secret; build args stay in the image's history, readable by anyone who pulls it`,
      `pass it as a build secret: secrets: { ${id}: { env: ${name} } }, read in the Containerfile with RUN --mount=type=secret,id=${id}`,
      'key',
    );
  }
}
