import type { GpuView } from '../policy.js';
import type { SimInstance } from './sim-instance.js';

/** What is committed on one simulated GPU; updated in place as instances come and go. */
export class GpuState implements GpuView {
  readonly index: number;
  readonly node: number;
  readonly model: string;
  readonly memoryMiB: number;
  memoryUsedMiB = 0;
  smRequested = 0;
  smLimited = 0;
  quotaSum = 0;
  readonly instances: SimInstance[] = [];

  constructor(index: number, node: number, model: string, memoryMiB: number) {
    this.index = index;
    this.node = node;
    this.model = model;
    this.memoryMiB = memoryMiB;
  }

  get exclusive(): boolean {
    return this.instances.some(i => i.exclusive);
  }

  /** Why `spec` cannot go here, or undefined when it fits (memory, quota, exclusivity). */
  misfit(spec: {
    memoryMiB: number;
    quota: number;
    exclusive?: boolean | undefined;
  }): string | undefined {
    if (this.exclusive) return 'held exclusively';
    if ((spec.exclusive ?? false) && this.instances.length > 0) return 'not empty';
    if (this.memoryUsedMiB + spec.memoryMiB > this.memoryMiB + 1e-9) return 'memory';
    if (this.quotaSum + spec.quota > 100 + 1e-9) return 'quota';
    return undefined;
  }

  add(inst: SimInstance): void {
    this.instances.push(inst);
    this.memoryUsedMiB += inst.memoryMiB;
    this.smRequested += inst.smRequest;
    this.smLimited += inst.smLimit;
    this.quotaSum += inst.quota;
  }

  remove(inst: SimInstance): void {
    const i = this.instances.indexOf(inst);
    if (i < 0) return;
    this.instances.splice(i, 1);
    this.memoryUsedMiB -= inst.memoryMiB;
    this.smRequested -= inst.smRequest;
    this.smLimited -= inst.smLimit;
    this.quotaSum -= inst.quota;
    if (this.instances.length === 0) {
      // Clear float drift so an empty GPU is exactly empty.
      this.memoryUsedMiB = 0;
      this.smRequested = 0;
      this.smLimited = 0;
      this.quotaSum = 0;
    }
  }
}
