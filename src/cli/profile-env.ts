/**
 * The `export` lines that `nimbuspay env` and the `npm start` banner print, for `eval "$(npx nimbuspay env)"` or a
 * paste into a POSIX shell (sh, bash, zsh).
 */

/** Single-quoted for a POSIX shell: nothing inside is expanded; a `'` becomes `'\''`. Plain words stay bare. */
export function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function exportLines(connection: { url: string; clientId: string; clientSecret: string }): string[] {
  return [
    `export NIMBUSPAY_PUBLIC_URL=${shellQuote(connection.url)}`,
    `export NIMBUSPAY_CLIENT_ID=${shellQuote(connection.clientId)}`,
    `export NIMBUSPAY_CLIENT_SECRET=${shellQuote(connection.clientSecret)}`,
  ];
}
