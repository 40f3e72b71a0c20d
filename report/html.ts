// Small helpers for building the report's HTML as strings safely.

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** JSON that is safe inside a <script> element: no "</script>" or "<!--" can appear in it. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
const usdCents = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
const usdSmall = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  maximumSignificantDigits: 3,
});
const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function fmtUsd(n: number): string {
  if (Math.abs(n) >= 100) return usd.format(n);
  return Math.abs(n) >= 1 || n === 0 ? usdCents.format(n) : usdSmall.format(n);
}
export function fmtInt(n: number): string {
  return int.format(n);
}
/** 1000 -> "1k", 256000 -> "256k", 1500000 -> "1.5M". */
export function fmtCount(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return String(n);
}
export function fmtScore(n: number): string {
  return n.toFixed(2);
}
export function fmtPct(n: number, digits = 0): string {
  return `${n.toFixed(digits)}%`;
}
