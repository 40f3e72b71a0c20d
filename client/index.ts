// llamaduo's client library: import from 'llamaduo/client' in another service.
export { MigrationClient, validateConfig, newMigrationId, InvalidConfigError } from './migrations';
export type { StartOptions, MigrationSummary } from './migrations';
export { loadConfigFile, parseConfigText } from './config-file';
export { MigrationConfig } from '../common/config';
export type { MigrationConfigInput } from '../common/config';
export type { Progress, MigrationResult, CycleRecord } from '../common/progress';
export { TASK_QUEUES } from '../common/activities';
export {
  createSchedule,
  listSchedules,
  describeSchedule,
  deleteSchedule,
  pauseSchedule,
  resumeSchedule,
  triggerSchedule,
} from './schedules';
export type { ScheduleOptions } from './schedules';
export { startDevServer } from './dev-server';
