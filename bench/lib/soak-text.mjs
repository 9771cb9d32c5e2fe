/** Compares received text with the ground truth: lengths in code points and the first differing one. */
export function textDiff(expected, got) {
  const e = [...expected];
  const g = [...got];
  let k = 0;
  while (k < e.length && k < g.length && e[k] === g[k]) k++;
  return { expectedChars: e.length, gotChars: g.length, firstDifferenceAt: k };
}
