// Custom search attributes: what a platform team filters migrations by in the Temporal UI and `llamaduo list`.
// The dev server registers them at start (see tests/helpers and the CLI); a production namespace needs
// `temporal operator search-attribute create` once (docs/operations.md).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA_STATUS = defineSearchAttributeKey('LlamaduoStatus', SearchAttributeType.KEYWORD);
export const SA_CYCLE = defineSearchAttributeKey('LlamaduoCycle', SearchAttributeType.INT);
export const SA_BEST_SCORE = defineSearchAttributeKey('LlamaduoBestScore', SearchAttributeType.DOUBLE);
export const SA_BASE_MODEL = defineSearchAttributeKey('LlamaduoBaseModel', SearchAttributeType.KEYWORD);
export const SA_TEACHER = defineSearchAttributeKey('LlamaduoTeacher', SearchAttributeType.KEYWORD);

/** name -> CLI type, for `temporal server start-dev --search-attribute name=Type` */
export const SEARCH_ATTRIBUTE_TYPES: Record<string, string> = {
  LlamaduoStatus: 'Keyword',
  LlamaduoCycle: 'Int',
  LlamaduoBestScore: 'Double',
  LlamaduoBaseModel: 'Keyword',
  LlamaduoTeacher: 'Keyword',
};
