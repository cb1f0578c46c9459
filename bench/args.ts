/** Shared helpers of the benchmarks' command lines and summaries. */

/** The value after `--name` in `args`, or `dflt`. */
export function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
}

/** The median (upper middle for an even count) of a non-empty list. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
