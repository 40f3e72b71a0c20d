// Writes k8s/trainer/contract-schema.json from the zod trainer contract (activities/gpu/trainer-contract.ts),
// which the trainer's Python tests check its pydantic specs and its outputs against. A unit test fails when
// the committed file is out of date.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { trainerContractJsonSchema } from '../activities/gpu/trainer-contract';

const out = path.resolve(import.meta.dirname, '..', 'k8s', 'trainer', 'contract-schema.json');
writeFileSync(out, JSON.stringify(trainerContractJsonSchema(), null, 2) + '\n');
console.log(`wrote ${out}`);
