import type { LeaveOneOutReport } from '../model/index.js';
import { createPredictor, leaveOneOutReport, loadProfiles } from '../model/index.js';
import type { CliOutput } from './output.js';
import { printJson } from './output.js';
import { fixed, formatTable } from './table.js';

export interface ModelCheckOptions {
  readonly profiles: readonly string[];
  readonly json: boolean;
  /** Mean leave-one-out MAPE (percent) above which the check fails. */
  readonly maxMape: number;
}

export interface ModelCheckResult {
  readonly profiles: readonly (LeaveOneOutReport & { source: string; bandPercent: number })[];
  readonly meanMapePercent: number;
  readonly targetMapePercent: number;
  readonly pass: boolean;
}

/**
 * Leave-one-out accuracy of the predictor on each profile: every measured point is
 * predicted from all the others and compared with its measurement.
 */
export function modelCheck(options: ModelCheckOptions): ModelCheckResult {
  const reports = loadProfiles(options.profiles).map(p => ({
    ...leaveOneOutReport(p),
    source: p.source,
    bandPercent: 100 * createPredictor(p).bandFraction,
  }));
  const mean = reports.reduce((s, r) => s + r.mapePercent, 0) / Math.max(1, reports.length);
  return {
    profiles: reports,
    meanMapePercent: mean,
    targetMapePercent: options.maxMape,
    pass: mean <= options.maxMape,
  };
}

export function runModelCheck(options: ModelCheckOptions, output: CliOutput): number {
  const result = modelCheck(options);
  if (options.json) {
    printJson(output, result);
  } else {
    output.out(
      'Leave-one-out latency error of the performance model (each point predicted from the rest)\n',
    );
    output.out(
      formatTable(
        [
          'profile',
          'points',
          'MAPE %',
          'p90 %',
          'max %',
          'band %',
          'worst point (batch@SM%: measured -> predicted ms)',
        ],
        result.profiles.map(r => [
          r.profile,
          r.points,
          fixed(r.mapePercent),
          fixed(r.p90Percent, 1),
          fixed(r.maxPercent, 1),
          fixed(r.bandPercent, 1),
          r.worst
            .slice(0, 1)
            .map(
              w =>
                `${w.batch}@${w.smPercent}: ${fixed(w.measuredMs, 1)} -> ${fixed(w.predictedMs, 1)}`,
            )
            .join(''),
        ]),
      ),
    );
    output.out(
      `\nmean MAPE ${fixed(result.meanMapePercent)} % (target <= ${result.targetMapePercent} %): ${result.pass ? 'PASS' : 'FAIL'}`,
    );
  }
  return result.pass ? 0 : 1;
}
