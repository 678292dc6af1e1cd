export * from './model/index.js';
export * from './profiling/index.js';
