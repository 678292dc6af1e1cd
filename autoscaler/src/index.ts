export * from './model/index.js';
export * from './profiling/index.js';
export * from './placement/index.js';
export * from './policy/index.js';
export {
  keepInformerRunning,
  type StoppableInformer,
} from './controller/kube/keep-informer-running.js';
export { BodyTooLargeError, readBodyLimited } from './controller/metrics-in/http-get.js';
