/**
 * Minimal SVG charts for the self-contained HTML report: no scripts, no external assets (the
 * report must open offline), text escaped, numbers rounded so the files stay small.
 */

export interface LineSeries {
  readonly name: string;
  readonly color: string;
  /** y values at x = 0, step, 2 step, ... */
  readonly values: ArrayLike<number>;
}

export interface LineChartOptions {
  readonly title: string;
  readonly yLabel: string;
  /** x distance between consecutive values, in x units. */
  readonly step: number;
  readonly xLabel: string;
  readonly width?: number;
  readonly height?: number;
  /** Draw the first series as a filled area (e.g. load behind replica counts). */
  readonly area?: boolean;
  /** Whole-number y ticks (counts). */
  readonly integer?: boolean;
}

const FONT = 'font-family="system-ui, sans-serif"';

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** Round "nice" step for about `n` ticks over [0, max]. */
export function niceStep(max: number, n = 4): number {
  if (!(max > 0)) return 1;
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return nice * mag;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return `${Math.round(v / 100) / 10}k`;
  if (a >= 10) return String(Math.round(v));
  if (a >= 1) return String(Math.round(v * 10) / 10);
  return String(Math.round(v * 1000) / 1000);
}

function r1(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

export function lineChart(series: readonly LineSeries[], o: LineChartOptions): string {
  const W = o.width ?? 560;
  const H = o.height ?? 200;
  const m = { l: 48, r: 12, t: 26, b: 34 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  let n = 0;
  let maxY = 0;
  for (const s of series) {
    n = Math.max(n, s.values.length);
    for (let i = 0; i < s.values.length; i++) maxY = Math.max(maxY, s.values[i] ?? 0);
  }
  const yStep = o.integer === true ? Math.max(1, Math.round(niceStep(maxY))) : niceStep(maxY);
  const yMax = Math.max(yStep, Math.ceil(maxY / yStep) * yStep);
  const xMax = Math.max(1, (n - 1) * o.step);
  const xStep = niceStep(xMax, 6);
  const X = (x: number): number => m.l + (x / xMax) * pw;
  const Y = (y: number): number => m.t + ph - (y / yMax) * ph;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeXml(o.title)}">`,
    `<text x="${m.l}" y="16" ${FONT} font-size="13" font-weight="600">${escapeXml(o.title)}</text>`,
  ];
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    parts.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${r1(Y(y))}" y2="${r1(Y(y))}" stroke="#e3e3e3"/>`,
      `<text x="${m.l - 6}" y="${r1(Y(y) + 4)}" ${FONT} font-size="10" text-anchor="end" fill="#555">${fmt(y)}</text>`,
    );
  }
  for (let x = 0; x <= xMax + 1e-9; x += xStep) {
    parts.push(
      `<text x="${r1(X(x))}" y="${H - m.b + 14}" ${FONT} font-size="10" text-anchor="middle" fill="#555">${fmt(x)}</text>`,
    );
  }
  parts.push(
    `<text x="${m.l + pw / 2}" y="${H - 4}" ${FONT} font-size="10" text-anchor="middle" fill="#555">${escapeXml(o.xLabel)}</text>`,
    `<text x="12" y="${m.t + ph / 2}" ${FONT} font-size="10" text-anchor="middle" fill="#555" transform="rotate(-90 12 ${m.t + ph / 2})">${escapeXml(o.yLabel)}</text>`,
  );
  series.forEach((s, si) => {
    const pts: string[] = [];
    for (let i = 0; i < s.values.length; i++)
      pts.push(`${r1(X(i * o.step))},${r1(Y(s.values[i] ?? 0))}`);
    if (pts.length === 0) return;
    if (o.area === true && si === 0) {
      parts.push(
        `<polygon points="${r1(X(0))},${r1(Y(0))} ${pts.join(' ')} ${r1(X((s.values.length - 1) * o.step))},${r1(Y(0))}" fill="${s.color}" fill-opacity="0.25" stroke="none"><title>${escapeXml(s.name)}</title></polygon>`,
      );
    } else {
      parts.push(
        `<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="1.4"><title>${escapeXml(s.name)}</title></polyline>`,
      );
    }
  });
  parts.push('</svg>');
  return parts.join('');
}

export interface Bar {
  readonly label: string;
  readonly value: number;
  readonly color: string;
  /** Text after the bar; default: the value. */
  readonly note?: string | undefined;
}

/** Horizontal bars, one per policy. */
export function barChart(bars: readonly Bar[], o: { title: string; width?: number }): string {
  const W = o.width ?? 420;
  const row = 22;
  const m = { l: 104, r: 90, t: 28 };
  const H = m.t + bars.length * row + 8;
  const max = Math.max(1e-12, ...bars.map(b => (Number.isFinite(b.value) ? b.value : 0)));
  const pw = W - m.l - m.r;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeXml(o.title)}">`,
    `<text x="4" y="16" ${FONT} font-size="13" font-weight="600">${escapeXml(o.title)}</text>`,
  ];
  bars.forEach((b, i) => {
    const y = m.t + i * row;
    const w = Number.isFinite(b.value) ? (Math.max(0, b.value) / max) * pw : 0;
    parts.push(
      `<text x="${m.l - 6}" y="${y + 14}" ${FONT} font-size="11" text-anchor="end">${escapeXml(b.label)}</text>`,
      `<rect x="${m.l}" y="${y + 3}" width="${r1(w)}" height="${row - 8}" fill="${b.color}"/>`,
      `<text x="${r1(m.l + w + 4)}" y="${y + 14}" ${FONT} font-size="11" fill="#333">${escapeXml(b.note ?? fmt(b.value))}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Averages consecutive groups of `every` values (downsampling for plots). */
export function downsample(values: ArrayLike<number>, length: number, every: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < length; i += every) {
    let sum = 0;
    let n = 0;
    for (let j = i; j < Math.min(length, i + every); j++) {
      sum += values[j] ?? 0;
      n++;
    }
    out.push(n > 0 ? sum / n : 0);
  }
  return out;
}
