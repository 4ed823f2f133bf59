/** Console output shared by benchmarks: the machine header and plain-text tables. */
import { findPackageJSON } from 'node:module';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

/** Node, CPU and load, printed first: benchmark figures mean little without them. */
export function environmentLines(packages: readonly string[] = []): string[] {
  const cpuList = cpus();
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const versions = packages.map((name) => `${name} ${packageVersion(name)}`).join(', ');
  return [
    `node ${process.version} (${process.platform}/${process.arch})`,
    `cpu  ${cpuList[0]?.model ?? 'unknown'} × ${cpuList.length}, load average ${load}`,
    ...(versions ? [`deps ${versions}`] : []),
  ];
}

function packageVersion(name: string): string {
  try {
    const path = findPackageJSON(name, import.meta.url);
    if (!path) return '?';
    return (JSON.parse(readFileSync(path, 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

export type Align = 'left' | 'right';

/** A fixed-width table; columns are right-aligned unless told otherwise (numbers line up). */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (align[i] === 'left' ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** 12345.6 → "12,346". */
export function formatCount(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-';
}

/** A value with a fixed number of decimals, or "-" when undefined/NaN. */
export function formatFixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}
