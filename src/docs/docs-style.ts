/**
 * The docs' one stylesheet, served from /docs/assets/docs.css. System font stacks only: no web font is fetched,
 * from us or anyone else.
 */
export const DOCS_CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg-soft: #f6f8fa; --accent: #3a4fd6;
  --get: #1a7f37; --post: #3a4fd6; --delete: #cf222e; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.9em; }
a { color: var(--accent); }
.docs-layout { display: grid; grid-template-columns: 15rem minmax(0, 1fr); min-height: 100vh; }
.docs-layout:has(.docs-aside) { grid-template-columns: 15rem minmax(0, 1fr) 16rem; }
.docs-nav { border-right: 1px solid var(--line); padding: 1rem; background: var(--bg-soft); position: sticky; top: 0;
  height: 100vh; overflow-y: auto; }
.docs-nav ul { list-style: none; margin: 0 0 1rem; padding: 0; }
.docs-nav li a { display: block; padding: 0.2rem 0.4rem; border-radius: 4px; text-decoration: none; color: var(--fg); }
.docs-nav li a[aria-current="page"] { background: #e2e6fb; font-weight: 600; }
.docs-brand a { font-weight: 700; text-decoration: none; color: var(--fg); font-size: 1.1rem; }
.docs-nav-heading { text-transform: uppercase; font-size: 0.75rem; letter-spacing: 0.05em; color: var(--muted); margin: 0.5rem 0 0.25rem; }
.docs-main { padding: 1.5rem 2.5rem 4rem; max-width: 62rem; }
.docs-aside { padding: 1.5rem 1rem; border-left: 1px solid var(--line); position: sticky; top: 0; height: 100vh; overflow-y: auto; font-size: 0.9rem; }
.docs-aside ul { list-style: none; padding-left: 0.5rem; margin: 0.25rem 0 0.75rem; }
pre { background: var(--bg-soft); border: 1px solid var(--line); border-radius: 6px; padding: 0.75rem 1rem; overflow-x: auto; }
table { border-collapse: collapse; margin: 0.75rem 0; width: 100%; }
th, td { border: 1px solid var(--line); padding: 0.35rem 0.6rem; text-align: left; vertical-align: top; }
th { background: var(--bg-soft); }
h1, h2, h3 { line-height: 1.25; }
h2 { border-bottom: 1px solid var(--line); padding-bottom: 0.3rem; margin-top: 2.5rem; }
.operation { border-top: 1px solid var(--line); padding-top: 0.5rem; margin-top: 2rem; }
.endpoint { font-size: 1rem; }
.method { display: inline-block; min-width: 4rem; text-align: center; border-radius: 4px; color: #fff; font-weight: 700;
  font-size: 0.8rem; padding: 0.1rem 0.4rem; margin-right: 0.5rem; background: var(--muted); }
.method-get { background: var(--get); } .method-post { background: var(--post); } .method-delete { background: var(--delete); }
.required { color: var(--delete); font-size: 0.8rem; margin-left: 0.3rem; }
.muted { color: var(--muted); }
.error-code { border-top: 1px solid var(--line); padding: 0.25rem 0; }
.error-code h3 { margin: 0.75rem 0 0.25rem; }
.error-code:target { background: #fff8c5; }
.schema-variants { margin: 0.25rem 0 0.5rem 1rem; }
@media (max-width: 60rem) { .docs-layout, .docs-layout:has(.docs-aside) { grid-template-columns: 1fr; }
  .docs-nav, .docs-aside { position: static; height: auto; } }
`;
