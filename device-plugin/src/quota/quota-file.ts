import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

export const QUOTA_FILE_NAME = 'quota.json';
export const QUOTA_FILE_VERSION = 1;

const podRefSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  uid: z.string(),
  container: z.string(),
});
export type PodRef = z.infer<typeof podRefSchema>;

/**
 * The per-allocation quota file (docs/contracts/quota-file.md). `allocatedAt` and `pod` are
 * this package's additions: readers ignore unknown fields, and with them the files alone are
 * the node agent's whole state, so a restart loses nothing.
 */
export const quotaFileSchema = z.looseObject({
  version: z.literal(QUOTA_FILE_VERSION),
  allocationId: z.string().regex(/^a-[0-9a-f]{16}$/),
  gpuIndex: z.number().int().nonnegative(),
  gpuUuid: z.string(),
  smRequest: z.number().int().min(1).max(100),
  smLimit: z.number().int().min(1).max(100).nullable(),
  quota: z.number().int().min(1).max(100),
  memoryMiB: z.number().int().nonnegative().nullable(),
  generation: z.number().int().positive(),
  updatedAt: z.string(),
  allocatedAt: z.string(),
  pod: podRefSchema.nullable(),
});
export type QuotaFile = z.infer<typeof quotaFileSchema>;

/**
 * Writes `quota.json` in `dir` atomically: a temporary file in the same directory, rename over
 * the old file. Readers see the old or the new file, never a partial one. `durable` adds fsync
 * of the file before and of the directory after the rename, so the new file survives a power
 * loss once this resolves (quota changes); the first file, written on the container start path,
 * skips it (see docs/decisions/0144).
 */
export async function writeQuotaFile(
  dir: string,
  content: QuotaFile,
  durable = true,
): Promise<void> {
  const tmp = join(dir, `${QUOTA_FILE_NAME}.tmp-${randomBytes(6).toString('hex')}`);
  if (!durable) {
    // Synchronous on purpose: two small syscalls are cheaper than trips through libuv's thread
    // pool, and this runs inside Allocate, on the container start path.
    writeFileSync(tmp, `${JSON.stringify(content, null, 2)}\n`, { flag: 'wx', mode: 0o644 });
    try {
      renameSync(tmp, join(dir, QUOTA_FILE_NAME));
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    return;
  }
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(`${JSON.stringify(content, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, join(dir, QUOTA_FILE_NAME));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Reads and validates a quota file; the error names the file and the bad field. */
export async function readQuotaFile(path: string): Promise<QuotaFile> {
  const text = await readFile(path, 'utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = quotaFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${path}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
