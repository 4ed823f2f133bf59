/**
 * Kubernetes resource quantities (`10Gi`, `500M`, `1.5Ti`, `1e9`) as numbers, so a size the API
 * server canonicalized (`10240Mi` → `10Gi`) still compares equal to the one we wrote.
 */
const SUFFIXES: Readonly<Record<string, number>> = {
  '': 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|([KMGTPE]i|[mkMGTPE])?)$/;

/** The value of a quantity, or undefined if it is not one. */
export function quantityValue(quantity: string | number): number | undefined {
  if (typeof quantity === 'number') return quantity;
  const match = QUANTITY.exec(quantity.trim());
  if (!match) return undefined;
  const [, mantissa, exponent, suffix] = match;
  const scale = exponent ? 10 ** Number(exponent.slice(1)) : SUFFIXES[suffix ?? ''];
  return Number(mantissa) * (scale ?? 1);
}

/** Equal quantities; unparseable ones compare as text. */
export function sameQuantity(
  a: string | number | undefined,
  b: string | number | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  const [x, y] = [quantityValue(a), quantityValue(b)];
  return x !== undefined && y !== undefined ? x === y : String(a) === String(b);
}
