import { escapeHtml } from './docs-page.js';
import { renderInlineMarkdown } from './docs-markdown.js';

/** JSON Schema (OpenAPI 3.1 dialect) as the reference shows it: a property table, variants, enums, links to named schemas. */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  enum?: unknown[];
  const?: unknown;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  discriminator?: { propertyName: string };
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  example?: unknown;
  examples?: unknown[];
  nullable?: boolean;
}

const MAX_DEPTH = 4;
const REF_PREFIX = '#/components/schemas/';

export function schemaAnchor(name: string): string {
  return `schema-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

function refName(ref: string): string | undefined {
  return ref.startsWith(REF_PREFIX) ? decodeURIComponent(ref.slice(REF_PREFIX.length)) : undefined;
}

export function resolveRef(schema: JsonSchema, components: Record<string, JsonSchema>): JsonSchema {
  let current = schema;
  for (let hops = 0; current.$ref && hops < 10; hops++) {
    const name = refName(current.$ref);
    const target = name ? components[name] : undefined;
    if (!target) break;
    current = target;
  }
  return current;
}

function variantsOf(schema: JsonSchema): JsonSchema[] | undefined {
  return schema.oneOf ?? schema.anyOf;
}

/** A short label for a schema's type: `string`, `integer`, `array of Payment`, a link for a named schema. */
export function typeLabel(schema: JsonSchema): string {
  if (schema.$ref) {
    const name = refName(schema.$ref);
    return name ? `<a href="#${schemaAnchor(name)}">${escapeHtml(name)}</a>` : escapeHtml(schema.$ref);
  }
  if (schema.const !== undefined) return `<code>${escapeHtml(JSON.stringify(schema.const))}</code>`;
  const variants = variantsOf(schema);
  if (variants) return variants.map(typeLabel).join(' | ');
  if (schema.allOf?.length === 1 && schema.allOf[0]) return typeLabel(schema.allOf[0]);
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const label = types
    .map((t) => (t === 'array' && schema.items ? `array of ${typeLabel(schema.items)}` : escapeHtml(t)))
    .join(' | ');
  const withFormat = schema.format ? `${label || 'string'} (${escapeHtml(schema.format)})` : label;
  return (withFormat || (schema.properties ? 'object' : 'any')) + (schema.nullable ? ' | null' : '');
}

/** Constraints and enum values, as one line of text. */
function constraints(schema: JsonSchema): string {
  const parts: string[] = [];
  if (schema.enum) parts.push(`one of ${schema.enum.map((v) => `<code>${escapeHtml(JSON.stringify(v))}</code>`).join(', ')}`);
  if (schema.minimum !== undefined) parts.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) parts.push(`≤ ${schema.maximum}`);
  if (schema.minLength !== undefined) parts.push(`at least ${schema.minLength} characters`);
  if (schema.maxLength !== undefined) parts.push(`at most ${schema.maxLength} characters`);
  if (schema.minItems !== undefined) parts.push(`at least ${schema.minItems} items`);
  if (schema.maxItems !== undefined) parts.push(`at most ${schema.maxItems} items`);
  if (schema.pattern) parts.push(`pattern <code>${escapeHtml(schema.pattern)}</code>`);
  if (schema.default !== undefined) parts.push(`default <code>${escapeHtml(JSON.stringify(schema.default))}</code>`);
  return parts.join('; ');
}

function describe(schema: JsonSchema): string {
  return [schema.description ? renderInlineMarkdown(schema.description) : '', constraints(schema)].filter(Boolean).join('<br>');
}

function mergeAllOf(schema: JsonSchema, components: Record<string, JsonSchema>): JsonSchema {
  if (!schema.allOf || schema.allOf.length < 2) return schema;
  const properties = { ...schema.properties };
  const required = [...(schema.required ?? [])];
  const merged: JsonSchema = { ...schema, allOf: undefined, properties, required };
  for (const part of schema.allOf.map((s) => resolveRef(s, components))) {
    Object.assign(properties, part.properties);
    required.push(...(part.required ?? []));
    merged.type ??= part.type;
  }
  return merged;
}

/**
 * The schema as HTML: a table of properties (nested objects expanded below their property), each variant of a
 * union, or a one-line type. Named schemas are links, never expanded in place, so recursion cannot loop.
 */
export function renderSchema(input: JsonSchema, components: Record<string, JsonSchema>, depth = 0): string {
  const schema = mergeAllOf(input, components);
  if (schema.$ref) {
    // a request or response body that is a named schema is shown in place once; deeper references stay links
    const target = resolveRef(schema, components);
    return depth === 0 && target !== schema ? `<p>${typeLabel(schema)}</p>${renderSchema(target, components, 0)}` : `<p>${typeLabel(schema)}</p>`;
  }
  const variants = variantsOf(schema);
  if (variants) {
    const by = schema.discriminator ? ` (by <code>${escapeHtml(schema.discriminator.propertyName)}</code>)` : '';
    const items = variants.map((v, i) => {
      const title = v.$ref ? typeLabel(v) : escapeHtml(v.title ?? `Variant ${i + 1}`);
      const body = v.$ref || depth >= MAX_DEPTH ? '' : renderSchema(v, components, depth + 1);
      return `<li>${title}${body}</li>`;
    });
    return `${schema.description ? `<p>${renderInlineMarkdown(schema.description)}</p>` : ''}<p>One of${by}:</p><ul class="schema-variants">${items.join('')}</ul>`;
  }
  if (schema.type === 'array' && schema.items && !schema.items.$ref && depth < MAX_DEPTH) {
    return `<p>array of:</p>${renderSchema(schema.items, components, depth + 1)}`;
  }
  if (!schema.properties || Object.keys(schema.properties).length === 0) {
    const detail = describe(schema);
    return `<p>${typeLabel(schema)}${detail ? ` — ${detail}` : ''}</p>`;
  }
  const required = new Set(schema.required ?? []);
  const rows = Object.entries(schema.properties).map(([name, property]) => {
    const nested = !property.$ref && depth < MAX_DEPTH && (property.properties || variantsOf(property) || property.items?.properties)
      ? renderSchema(property, components, depth + 1)
      : '';
    return `<tr><td><code>${escapeHtml(name)}</code>${required.has(name) ? '<span class="required">required</span>' : ''}</td>`
      + `<td>${typeLabel(property)}</td><td>${describe(property)}${nested}</td></tr>`;
  });
  return `${depth === 0 && schema.description ? `<p>${renderInlineMarkdown(schema.description)}</p>` : ''}`
    + `<table><thead><tr><th>Field</th><th>Type</th><th>Description</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** An example built from the schema when the document gives none: every required field, first enum value, etc. */
export function sampleFromSchema(input: JsonSchema, components: Record<string, JsonSchema>, depth = 0): unknown {
  const schema = mergeAllOf(resolveRef(input, components), components);
  if (schema.example !== undefined) return schema.example;
  if (schema.examples?.length) return schema.examples[0];
  if (schema.const !== undefined) return schema.const;
  if (schema.default !== undefined) return schema.default;
  if (schema.enum?.length) return schema.enum[0];
  if (depth > MAX_DEPTH) return null;
  const variants = variantsOf(schema);
  if (variants?.[0]) return sampleFromSchema(variants[0], components, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type ?? (schema.properties ? 'object' : undefined)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const required = new Set(schema.required ?? []);
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        if (required.has(name)) out[name] = sampleFromSchema(property, components, depth + 1);
      }
      return out;
    }
    case 'array':
      return schema.items ? [sampleFromSchema(schema.items, components, depth + 1)] : [];
    case 'integer':
    case 'number':
      return schema.minimum ?? 0;
    case 'boolean':
      return false;
    case 'string':
      return schema.format === 'date-time' ? '2026-01-01T00:00:00Z' : schema.format === 'uri' ? 'https://example.com/webhooks' : 'string';
    default:
      return null;
  }
}
