export { renderReport } from './render';
export { writeReportFile } from './write-report';
export { loadReportData, parseReportData, ReportDataSchema } from './report-schema';
export type { ReportData, CycleReport, ScoreDistribution } from './report-data';
export * from './break-even';
