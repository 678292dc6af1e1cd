export * from './model/index.js';
export * from './placement/index.js';
