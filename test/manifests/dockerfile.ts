// Reading the root Dockerfile without a Docker daemon: its stages, and per target what a
// container started from it runs (ENTRYPOINT, USER) and which paths it copies in. Only what the
// project's Dockerfile uses is understood: line continuations, comments, global ARG defaults in
// FROM, `FROM <base> AS <name>`, exec-form ENTRYPOINT and CMD, and COPY with flags.
import { posix } from 'node:path';

export interface Instruction {
  /** Upper case, e.g. "COPY". */
  readonly keyword: string;
  readonly args: string;
  /** 1-based line where the instruction starts, for messages. */
  readonly line: number;
}

export interface Stage {
  readonly name: string | undefined;
  /** The FROM argument with global ARG defaults substituted: an image or an earlier stage. */
  readonly base: string;
  readonly instructions: readonly Instruction[];
}

/** Logical instructions: continuation lines joined, comment lines dropped. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    // Docker drops comment lines even inside a continued instruction.
    if (line.trimStart().startsWith('#')) return;
    if (pending === undefined && line.trim() === '') return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1) : line;
    pending =
      pending === undefined
        ? { text: body.trim(), line: i + 1 }
        : { text: `${pending.text} ${body.trim()}`, line: pending.line };
    if (continued) return;
    const m = /^(\S+)\s*(.*)$/.exec(pending.text);
    if (m !== null) out.push({ keyword: m[1]!.toUpperCase(), args: m[2]!, line: pending.line });
    pending = undefined;
  });
  return out;
}

/** The stages of a Dockerfile, in order. */
export function parseDockerfile(text: string): Stage[] {
  const args = new Map<string, string>();
  const stages: { name: string | undefined; base: string; instructions: Instruction[] }[] = [];
  for (const ins of instructions(text)) {
    const current = stages.at(-1);
    if (ins.keyword === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (m === null) throw new Error(`line ${ins.line}: FROM ${ins.args} not understood`);
      const base = m[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => {
        const name = a ?? b ?? '';
        return args.get(name) ?? '';
      });
      stages.push({ name: m[2]?.toLowerCase(), base, instructions: [] });
    } else if (current === undefined) {
      // Before the first FROM only ARG is allowed; its default is what FROM substitutes.
      const m = /^(\w+)(?:=(.*))?$/.exec(ins.args);
      if (ins.keyword === 'ARG' && m !== null) args.set(m[1]!, m[2] ?? '');
    } else {
      current.instructions.push(ins);
    }
  }
  return stages;
}

/** A stage and the stages it is built on, the stage itself first. */
export function stageChain(stages: readonly Stage[], name: string): Stage[] {
  const chain: Stage[] = [];
  let stage = stages.find(s => s.name === name);
  while (stage !== undefined) {
    chain.push(stage);
    const base = stage.base.toLowerCase();
    stage = stages.slice(0, stages.indexOf(stage)).find(s => s.name === base);
  }
  return chain;
}

/** The instruction of this keyword in effect for a stage (its own, else the nearest base's). */
export function effective(
  stages: readonly Stage[],
  target: string,
  keyword: string,
): Instruction | undefined {
  for (const stage of stageChain(stages, target)) {
    const found = stage.instructions.filter(i => i.keyword === keyword).at(-1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The exec (JSON) form of ENTRYPOINT or CMD; undefined for the shell form. */
export function execForm(ins: Instruction | undefined): string[] | undefined {
  if (ins === undefined || !ins.args.trimStart().startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(ins.args);
  return Array.isArray(parsed) && parsed.every(a => typeof a === 'string') ? parsed : undefined;
}

export interface Copy {
  /** The stage copied from (`--from`), or undefined for the build context. */
  readonly from: string | undefined;
  readonly sources: readonly string[];
  /** Absolute destination, resolved against the WORKDIR in effect at the COPY. */
  readonly dest: string;
}

/** The COPY instructions that fill a target's file system, its bases' included. */
export function copies(stages: readonly Stage[], target: string): Copy[] {
  const out: Copy[] = [];
  // A stage starts in the WORKDIR its base stage left.
  let workdir = '/';
  for (const stage of stageChain(stages, target).reverse()) {
    for (const ins of stage.instructions) {
      if (ins.keyword === 'WORKDIR') workdir = posix.resolve(workdir, ins.args.trim());
      if (ins.keyword !== 'COPY') continue;
      const words = ins.args.trim().split(/\s+/);
      const flags = words.filter(w => w.startsWith('--'));
      const paths = words.filter(w => !w.startsWith('--'));
      const from = flags.find(f => f.startsWith('--from='))?.slice('--from='.length);
      const dest = posix.resolve(workdir, paths.at(-1) ?? '.');
      out.push({
        from,
        sources: paths.slice(0, -1),
        dest: paths.at(-1)?.endsWith('/') ? `${dest}/` : dest,
      });
    }
  }
  return out;
}
