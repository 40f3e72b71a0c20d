export { renderReport } from './render';
export type { ReportData, CycleReport, ScoreDistribution } from './report-data';
export * from './break-even';
