/** What the plugin knows about one physical GPU after a discovery pass. */
export interface GpuInfo {
  /** nvidia-smi index: the order the driver enumerates GPUs (PCI bus order). */
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
  readonly memoryMiB: number;
  /** `Enabled`, `Disabled` or `N/A` (GPUs without MIG). */
  readonly migMode: string;
  /** `Default`, `Exclusive_Process` or `Prohibited`. */
  readonly computeMode: string;
  /** PCI bus id as nvidia-smi prints it, e.g. `00000000:07:00.0`. */
  readonly pciBusId: string;
  /** Empty when healthy; otherwise one line per problem found. */
  readonly problems: readonly string[];
}

/** The source of GPU facts: `nvidia-smi` on a GPU node, or its emulation in fake mode. */
export interface GpuInventory {
  /** Every GPU the driver lists now, with its health assessed. */
  discover(): Promise<GpuDiscovery>;
  /** Sets a GPU's compute mode (`EXCLUSIVE_PROCESS` for MPS, `DEFAULT` to undo). */
  setComputeMode(uuid: string, mode: 'DEFAULT' | 'EXCLUSIVE_PROCESS'): Promise<void>;
}

export interface GpuDiscovery {
  readonly gpus: readonly GpuInfo[];
  /** GPUs the driver could not open at all ("Unable to determine the device handle"), by bus id. */
  readonly lostBusIds: readonly string[];
  readonly driverVersion: string | undefined;
}

/** nvidia-smi could not be run or printed something this package cannot read. */
export class GpuDiscoveryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GpuDiscoveryError';
  }
}
