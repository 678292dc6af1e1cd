export type { Measure, Measurement, Probe } from './measurement.js';
export { throughputEfficiency } from './measurement.js';
export { pruningSearch } from './pruning-search.js';
export type { Choice, PruningSearchOptions, SearchResult, StopReason } from './pruning-search.js';
export { kneeSearch } from './knee-search.js';
export type { KneeResult, KneeSearchOptions } from './knee-search.js';
export { measureFromProfile } from './profile-measure.js';
export { compareWithGrid } from './grid-comparison.js';
export type { GridComparison } from './grid-comparison.js';
