/**
 * The publish chain of an image whose list is built: stage the whole list under a tag unique
 * to the run in every registry, verify each staged list, and only then move the final tags,
 * every one of them from the digest that was verified.
 */
import type { Host, Image, Registry } from '../model/types.js';
import { copyListArgs, inspectRawArgs, pushListArgs, withRunValue, type RegistryAccess } from './commands.js';
import { podmanOn } from './describe.js';
import type { PlanTask } from './types.js';

/** What the chain needs of the planner that makes it. */
export interface PublishSteps {
  add(task: PlanTask): string;
  /** The login `host` needs before it talks to `registry` (none without credentials). */
  login(registry: Registry, host: Host): string[];
  access(registry: Registry): RegistryAccess;
  local: Host;
}

export interface PublishInput {
  image: Image;
  registries: readonly Registry[];
  /** The local list's name, on `host`, complete once `after` are done (the build or assembly, and the smoke tests). */
  list: string;
  host: Host;
  after: readonly string[];
  /** Per-arch: platform -> the push task whose digest the list must hold. */
  pushedBy?: Record<string, string>;
}

export interface Published {
  /** The first registry's stage: where dependents on other hosts find this run's list, by digest. */
  firstStage: { stage: string; repository: string } | undefined;
  publishIds: string[];
  /** The final references the publishes move. */
  references: string[];
}

export function publishChain(
  steps: PublishSteps,
  { image, registries, list, host, after, pushedBy }: PublishInput,
): Published {
  const verified: string[] = [];
  const stages: string[] = [];
  let firstStage: Published['firstStage'];
  for (const registry of registries) {
    const repository = `${registry.url}/${image.repository}`;
    const stage = steps.add({
      id: `stage:${image.name}@${registry.name}`,
      kind: 'stage',
      image: image.name,
      platforms: image.platforms,
      host: host.name,
      dependsOn: [...after, ...steps.login(registry, host)],
      argv: pushListArgs(
        podmanOn(host),
        list,
        withRunValue({ ref: 'run-id' }, `docker://${repository}:orchestrate-stage-`),
        steps.access(registry),
      ),
      repository,
    });
    stages.push(stage);
    firstStage ??= { stage, repository };
    verified.push(
      steps.add({
        id: `verify:${image.name}@${registry.name}`,
        kind: 'verify',
        image: image.name,
        platforms: image.platforms,
        host: steps.local.name,
        dependsOn: [stage, ...steps.login(registry, steps.local)],
        argv: inspectRawArgs(
          withRunValue({ ref: 'digest', task: stage }, `docker://${repository}@`),
          steps.access(registry),
        ),
        repository,
        stage,
        expect: { platforms: image.platforms, ...(pushedBy && { digestsFrom: pushedBy }) },
      }),
    );
  }
  const references: string[] = [];
  const publishIds: string[] = [];
  registries.forEach((registry, index) => {
    const repository = `${registry.url}/${image.repository}`;
    const stage = stages[index]!;
    for (const tag of image.tags) {
      references.push(`${repository}:${tag}`);
      publishIds.push(
        steps.add({
          id: `publish:${image.name}@${registry.name}:${tag}`,
          kind: 'publish',
          image: image.name,
          platforms: image.platforms,
          host: steps.local.name,
          // Every registry verified before any tag moves: a failure leaves all tags as they were.
          dependsOn: verified,
          argv: copyListArgs(
            withRunValue({ ref: 'digest', task: stage }, `docker://${repository}@`),
            `docker://${repository}:${tag}`,
            steps.access(registry),
          ),
          repository,
          tag,
          stage,
        }),
      );
    }
  });
  return { firstStage, publishIds, references };
}
