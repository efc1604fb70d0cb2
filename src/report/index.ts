// The report's public surface: what the CLI calls to turn a profile's samples into the JSON
// document, the text report, the HTML page, and the progress bar shown while sampling.
export { buildProfile } from './build';
export { renderText, type TextOptions } from './text';
export { renderHtml } from './html';
export { createProgress, type Progress, type ProgressOptions, type ProgressStream } from './progress';
export { apportionInterval, windowBreakdown } from './breakdown';
export { decideVerdict, explainVerdict } from './verdict';
export { BREAKDOWN_STATES } from './model';
export { memoryTrend, TREND_CONFIDENCE, TREND_MIN_WINDOW_S, type MemoryTrend } from './trend';
export type {
  AttachMethod,
  Breakdown,
  BreakdownState,
  Evidence,
  EvidenceSource,
  GcPause,
  HostInfo,
  LoadSummary,
  LoopDelayNs,
  ProcessInterval,
  ProcessRow,
  ProfileDocument,
  ProfileMeta,
  ProfileSample,
  Runtime,
  SeriesPoint,
  TargetInfo,
  ThreadRow,
  ThreadTimeS,
  Verdict,
} from './model';
