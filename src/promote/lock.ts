/**
 * One promotion at a time per (application, target) within this process: a later promotion waits
 * for the earlier one, so their sequence order is also their apply order. Across processes the
 * status ConfigMap's sequence check and leader election keep the order.
 */
const tails = new Map<string, Promise<void>>();

export async function withTargetLock<T>(application: string, target: string, fn: () => Promise<T>): Promise<T> {
  const key = `${application}\u0000${target}`;
  const previous = tails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const tail = previous.then(() => mine);
  tails.set(key, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    if (tails.get(key) === tail) tails.delete(key);
  }
}
