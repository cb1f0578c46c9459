/**
 * Label selector syntax check (the string form `kubectl -l` and the API's labelSelector take), so a
 * typo in `watch.selector` is refused at start instead of by every watch request. Pure.
 */
const KEY = String.raw`(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`;
const VALUE = String.raw`(?:[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const EXISTS = new RegExp(`^!?${KEY}$`);
const EQUALITY = new RegExp(`^${KEY}\\s*(=|==|!=)\\s*${VALUE}$`);
const SET = new RegExp(`^${KEY}\\s+(in|notin)\\s*\\(\\s*${VALUE}(\\s*,\\s*${VALUE})*\\s*\\)$`);

/** Splits on commas outside parentheses. */
function terms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth < 0) return ['('];
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return depth === 0 ? out : ['('];
}

export function isLabelSelector(selector: string): boolean {
  if (selector.trim() === '') return false;
  return terms(selector).every((t) => {
    const term = t.trim();
    return EXISTS.test(term) || EQUALITY.test(term) || SET.test(term);
  });
}
