/**
 * FaST-GShare's view of a GPU, which HAS-GPU keeps (HAS-GPU internal/controller,
 * `HASGPUInfo`): each GPU has GPUSMConfigNum = 2 "rows"; a row has one MPS SM partition S,
 * set by its first pod and kept until the GPU is empty, and the pods of a row time-share it,
 * Σ time quota ≤ 100 %. The occupancy of a GPU is HGO = Σ S x Q / 10^4 over its pods.
 */
export const ROWS_PER_GPU = 2;

export interface RowPod {
  readonly id: number;
  readonly fn: number;
  readonly gpu: number;
  readonly row: number;
  /** SM partition S, percent. */
  readonly sm: number;
  /** Time quota Q, percent. */
  timeQuota: number;
  readonly batch: number;
}

export class SmRows {
  readonly #rowSm: Int16Array;
  readonly #onGpu: RowPod[][] = [];
  readonly #pods = new Map<number, RowPod>();
  readonly #byFn = new Map<number, RowPod[]>();

  constructor(gpuCount: number) {
    this.#rowSm = new Int16Array(gpuCount * ROWS_PER_GPU).fill(-1);
    for (let g = 0; g < gpuCount; g++) this.#onGpu.push([]);
  }

  get gpuCount(): number {
    return this.#onGpu.length;
  }

  pod(id: number): RowPod | undefined {
    return this.#pods.get(id);
  }

  /** The function's pods (a fresh array the caller may sort). */
  podsOf(fn: number): RowPod[] {
    return [...(this.#byFn.get(fn) ?? [])];
  }

  /** SM partition of a row, or undefined while it has none. */
  rowSm(gpu: number, row: number): number | undefined {
    const v = this.#rowSm[gpu * ROWS_PER_GPU + row] ?? -1;
    return v < 0 ? undefined : v;
  }

  /** 100 minus the time quota taken in the row. */
  rowFree(gpu: number, row: number): number {
    let used = 0;
    for (const p of this.#onGpu[gpu] ?? []) if (p.row === row) used += p.timeQuota;
    return 100 - used;
  }

  hgo(gpu: number): number {
    let h = 0;
    for (const p of this.#onGpu[gpu] ?? []) h += (p.sm * p.timeQuota) / 10000;
    return h;
  }

  used(gpu: number): boolean {
    return (this.#onGpu[gpu]?.length ?? 0) > 0;
  }

  /** GPUs holding pods with HGO below `maxHgo`, least occupied first. */
  usedByHgo(maxHgo: number): number[] {
    const out: { g: number; h: number }[] = [];
    for (let g = 0; g < this.#onGpu.length; g++) {
      if (!this.used(g)) continue;
      const h = this.hgo(g);
      if (h < maxHgo) out.push({ g, h });
    }
    return out.sort((a, b) => a.h - b.h || a.g - b.g).map(x => x.g);
  }

  /** GPUs with no pods, in index order. */
  unused(): number[] {
    const out: number[] = [];
    for (let g = 0; g < this.#onGpu.length; g++) if (!this.used(g)) out.push(g);
    return out;
  }

  /**
   * The row a new pod with partition `sm` joins (HAS-GPU FindOptimalRowIdx): a row with the
   * same partition, else an empty row, else the row with the most free quota (the pod then
   * takes that row's partition).
   */
  rowFor(gpu: number, sm: number): number {
    for (let r = 0; r < ROWS_PER_GPU; r++) if (this.rowSm(gpu, r) === sm) return r;
    for (let r = 0; r < ROWS_PER_GPU; r++) if (this.rowSm(gpu, r) === undefined) return r;
    let best = 0;
    for (let r = 1; r < ROWS_PER_GPU; r++)
      if (this.rowFree(gpu, r) > this.rowFree(gpu, best)) best = r;
    return best;
  }

  add(pod: RowPod): void {
    const k = pod.gpu * ROWS_PER_GPU + pod.row;
    if ((this.#rowSm[k] ?? -1) < 0) this.#rowSm[k] = pod.sm;
    this.#onGpu[pod.gpu]?.push(pod);
    this.#pods.set(pod.id, pod);
    const list = this.#byFn.get(pod.fn);
    if (list) list.push(pod);
    else this.#byFn.set(pod.fn, [pod]);
  }

  remove(id: number): void {
    const pod = this.#pods.get(id);
    if (!pod) return;
    this.#pods.delete(id);
    const mine = this.#byFn.get(pod.fn) ?? [];
    const k = mine.indexOf(pod);
    if (k >= 0) mine.splice(k, 1);
    const list = this.#onGpu[pod.gpu];
    if (!list) return;
    const i = list.indexOf(pod);
    if (i >= 0) list.splice(i, 1);
    // HAS-GPU forgets a GPU (and its row partitions) once the GPU holds no pods.
    if (list.length === 0) {
      for (let r = 0; r < ROWS_PER_GPU; r++) this.#rowSm[pod.gpu * ROWS_PER_GPU + r] = -1;
    }
  }
}
