// The study: a grid of migrations (tasks × students × data generators × synthetic volumes, every cell judged
// by the same judges) run as one durable workflow, after the paper's Table 1 and Figure 2. Pure (zod only).
import { z } from 'zod';
import { DatasetSource, MigrationConfig, ServiceModel, type MigrationConfigInput } from './config';
import { EconomicsConfig } from './economics';

const NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

export const StudyConfig = z
  .object({
    /** Becomes part of every cell's workflow id: lowercase letters, digits and dashes. */
    name: z.string().regex(NAME, 'lowercase letters, digits and dashes, at most 32'),
    /** Cells that run at once. */
    maxConcurrent: z.number().int().positive().max(64).default(2),
    /** One budget for the whole study; each cell is started with a share of what is left. */
    budget: z.object({ maxUsd: z.number().positive() }).strict(),
    /** A migration config without name, baseModel, teacher and judges: what every cell starts from. */
    base: z.record(z.string(), z.unknown()),
    /** One task per dataset; defaults to the base config's dataset as task "task". */
    tasks: z
      .array(
        z
          .object({
            name: z.string().regex(NAME, 'lowercase letters, digits and dashes'),
            dataset: DatasetSource,
          })
          .strict(),
      )
      .nonempty()
      .optional(),
    /** Student base models, e.g. builtin:tiny-random-llama or a Hugging Face id. */
    students: z.array(z.string().min(1)).nonempty(),
    /** Service LLMs that write the synthetic data; each one's own answers are a Table 1 baseline row. */
    generators: z.array(ServiceModel).nonempty(),
    /** Judges of every cell, the baselines included (same test prompts); defaults to the generators. */
    judges: z.array(ServiceModel).nonempty().optional(),
    /** Synthetic volumes of the first synthesis (synthesis.initialVolume); defaults to the base config's. */
    volumes: z.array(z.number().int().positive()).nonempty().optional(),
    /** Your daily tokens and GPU price: the report's Table 2 / Figure 4 (every cell's config carries them). */
    economics: EconomicsConfig.optional(),
  })
  .strict();
export type StudyConfig = z.infer<typeof StudyConfig>;

export interface StudyCell {
  /** unique within the study; part of the child workflow id */
  key: string;
  task: string;
  student: string;
  generator: string;
  volume: number;
  config: MigrationConfig;
}

export interface StudyInput {
  name: string;
  maxConcurrent: number;
  maxUsd: number;
  cells: StudyCell[];
}

export const modelName = (m: { provider: string; model: string }) => `${m.provider}/${m.model}`;

/** Workflow-id and artifact-key safe. */
export function slug(s: string): string {
  return s
    .replace(/^builtin:/, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
}

/** The migration config input of one cell (not yet validated). */
export function cellConfigInput(
  study: StudyConfig,
  task: { name: string; dataset?: unknown },
  student: string,
  generator: ServiceModel,
  volume: number | undefined,
): MigrationConfigInput {
  const base = study.base as Partial<MigrationConfigInput>;
  const judges = (study.judges ?? study.generators).map((j) => ({ temperature: 0, ...j }));
  return {
    ...base,
    name: 'cell',
    ...(task.dataset ? { dataset: task.dataset } : {}),
    baseModel: student,
    ...(study.economics ? { economics: study.economics } : {}),
    evaluation: { ...(base.evaluation ?? {}), judges } as MigrationConfigInput['evaluation'],
    synthesis: {
      ...(base.synthesis ?? {}),
      teacher: generator,
      ...(volume !== undefined ? { initialVolume: volume } : {}),
    } as MigrationConfigInput['synthesis'],
  } as MigrationConfigInput;
}

/** Every cell of the grid, in a fixed order (task, generator, student, volume). */
export function expandStudy(study: StudyConfig): StudyInput {
  const tasks = study.tasks ?? [{ name: 'task', dataset: undefined }];
  const volumes: (number | undefined)[] = study.volumes ?? [undefined];
  const cells: StudyCell[] = [];
  for (const task of tasks)
    for (const generator of study.generators)
      for (const student of study.students)
        for (const volume of volumes) {
          const config = MigrationConfig.parse(cellConfigInput(study, task, student, generator, volume));
          const key = [
            task.name,
            slug(student),
            slug(generator.model),
            `v${config.synthesis.initialVolume}`,
          ].join('.');
          config.name = `${study.name}-${cells.length + 1}`;
          cells.push({
            key,
            task: task.name,
            student,
            generator: modelName(generator),
            volume: config.synthesis.initialVolume,
            config,
          });
        }
  const dup = cells.find((c, i) => cells.findIndex((d) => d.key === c.key) !== i);
  if (dup) throw new Error(`two cells of the grid have the same key ${dup.key}: list each model once`);
  return { name: study.name, maxConcurrent: study.maxConcurrent, maxUsd: study.budget.maxUsd, cells };
}
