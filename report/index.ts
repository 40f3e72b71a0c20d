export { renderReport } from './render';
export { writeReportFile } from './write-report';
export { reportDataFromProgress, type ReportOptions } from './from-progress';
export { loadReportData, parseReportData, ReportDataSchema } from './report-schema';
export type { ReportData, CycleReport, ScoreDistribution, CurationDetails } from './report-data';
export * from './break-even';
