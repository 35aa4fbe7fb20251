/**
 * @module template
 * Annotation templates: `{{ $value }}`, `{{ $threshold }}`, `{{ $labels.<name> }}`, `{{ $rule }}`, `{{ $severity }}`.
 * Unknown placeholders are left as written, so a typo shows up in the notification instead of vanishing.
 */

export interface TemplateContext {
  value: number | null;
  threshold: number | null;
  labels: Readonly<Record<string, string>>;
  rule: string;
  severity: string;
}

const PLACEHOLDER = /\{\{\s*\$([a-zA-Z_]+)(?:\.([a-zA-Z_][a-zA-Z0-9_]*))?\s*\}\}/g;

function show(v: number | null): string {
  if (v === null || Number.isNaN(v)) return 'n/a';
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
}

export function renderTemplate(text: string, ctx: TemplateContext): string {
  return text.replace(PLACEHOLDER, (whole, name: string, key: string | undefined) => {
    switch (name) {
      case 'value':
        return show(ctx.value);
      case 'threshold':
        return show(ctx.threshold);
      case 'rule':
        return ctx.rule;
      case 'severity':
        return ctx.severity;
      case 'labels':
        return key !== undefined && Object.hasOwn(ctx.labels, key) ? ctx.labels[key]! : whole;
      default:
        return whole;
    }
  });
}

export function renderAnnotations(annotations: Record<string, string>, ctx: TemplateContext): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations)) out[k] = renderTemplate(v, ctx);
  return out;
}
