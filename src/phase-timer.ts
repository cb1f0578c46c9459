/**
 * Runs `fn` and records its wall time in `durations[phase]` (whole ms), also when it throws, so a
 * failed phase still shows how long it took. `onTimed` observes each recorded phase (metrics).
 */
export async function timePhase<T>(
  durations: Record<string, number>,
  phase: string,
  fn: () => Promise<T>,
  onTimed?: (phase: string, ms: number) => void,
): Promise<T> {
  const t = performance.now();
  try {
    return await fn();
  } finally {
    const ms = Math.round(performance.now() - t);
    durations[phase] = ms;
    onTimed?.(phase, ms);
  }
}
