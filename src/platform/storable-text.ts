/**
 * Text PostgreSQL cannot keep as it was sent: NUL (refused by its encoding check, a 500 if it got that far) and
 * unpaired UTF-16 surrogates (Node writes them as U+FFFD, so the stored text would silently differ from the
 * request). The HTTP input guard checks every request with it once, instead of each schema (a schema can only say
 * what a field may contain, not what no field may contain, and metadata keys have no schema of their own); bodies
 * parsed after a signature check (processor notifications) are checked where they are parsed.
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isStorableText(value: string): boolean {
  return !UNSTORABLE.test(value);
}

/**
 * The path of the first string or key in `root` that cannot be stored, or undefined. Iterative, not recursive: a
 * body within the size limit may nest thousands of levels deep.
 */
export function findUnstorable(root: unknown, base: readonly string[] = []): string[] | undefined {
  const stack: Array<{ value: unknown; path: readonly string[] }> = [{ value: root, path: base }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, path } = next;
    if (typeof value === 'string') {
      if (!isStorableText(value)) return [...path];
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push({ value: item, path: [...path, String(i)] }));
    } else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
      for (const [key, item] of Object.entries(value)) {
        if (!isStorableText(key)) return [...path, key];
        stack.push({ value: item, path: [...path, key] });
      }
    }
  }
  return undefined;
}
