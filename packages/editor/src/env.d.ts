// The editor's TypeScript runs in the browser and under Vite: bring in the DOM, Svelte's runes and `import.meta.glob`
// for this package's files, including when the repository-wide `tsc` checks them.
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference types="svelte" />
/// <reference types="vite/client" />
