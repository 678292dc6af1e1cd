// The part of an e2e suite around its tests: open-loop load and the quota watch on a started
// scenario, and at the end one line of what the load saw and how long the suite took.
import { watchQuotas, type QuotaWatch } from './checks.js';
import { percentile, startLoad, type LoadGenerator } from './load.js';
import type { Scenario } from './scenario.js';

// The load steps both suites drive (requests per second; the fall is to half of LOW).
export const LOW_RPS = Number(process.env['DILU_E2E_LOW_RPS'] ?? 8);
export const MID_RPS = Number(process.env['DILU_E2E_MID_RPS'] ?? 12);
// One instance (batch 1, l = 10 % of an A100) reaches about 30 requests/s within the SLO. The
// policy raises its quota for MID and adds an instance for HIGH (its forecast looks a cold
// start ahead); HIGH stays well below one instance's reach, so the remembered peak
// (keep-alive) lets the function shrink back to one instance when the load falls. Replaying
// these steps through the policy offline gives: quota up at MID, quota up then scale-out at
// HIGH, quotas down a few seconds after the fall, scale-in after the 10 s delay.
export const HIGH_RPS = Number(process.env['DILU_E2E_HIGH_RPS'] ?? 22);

/** What every e2e request sends: one input of the classify function. */
const REQUEST_BODY = JSON.stringify({ input: [0.5, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8] });

export interface Drive {
  readonly load: LoadGenerator;
  readonly quotas: QuotaWatch;
}

/** Starts load (paused until a test sets a rate) and the quota watch. */
export function startDriving(s: Scenario): Drive {
  const load = startLoad({
    url: () => s.target.url,
    headers: s.target.headers,
    body: REQUEST_BODY,
  });
  return { load, quotas: watchQuotas(s) };
}

/** Stops the load, the watch and the scenario, and logs the run; safe after a failed start. */
export async function finishRun(
  label: string,
  s: Scenario | undefined,
  drive: Drive | undefined,
  startedMs: number,
): Promise<void> {
  await drive?.quotas.stop();
  const report = await drive?.load.stop();
  if (report !== undefined) {
    const p = (q: number): string => percentile(report.latenciesMs, q).toFixed(1);
    console.log(
      `${label}: ${report.sent} requests; answered ${JSON.stringify(report.answered)}; ` +
        `failed ${JSON.stringify(report.failed)}; p50 ${p(50)} ms, p99 ${p(99)} ms`,
    );
  }
  await s?.stop();
  const took = ((Date.now() - startedMs) / 1000).toFixed(0);
  console.log(`${label}: suite took ${took} s (setup ${JSON.stringify(s?.timings)})`);
}
