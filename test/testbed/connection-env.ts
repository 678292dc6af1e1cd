// Environment variables through which Jest's global setup tells the suites (in worker
// processes started after it) where the control plane is, or why there is none.
export const TESTBED_CONNECTION_ENV = 'DILU_TESTBED_CONNECTION';
export const TESTBED_UNAVAILABLE_ENV = 'DILU_TESTBED_UNAVAILABLE';
