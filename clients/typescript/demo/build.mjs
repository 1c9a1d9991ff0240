// Builds the /demo page into dist/ with fixed file names (index.html, demo.js, demo.css):
// the server embeds them by name. The output is committed, so building Sesame needs no Node;
// scripts/test-typescript.sh rebuilds it and fails when the committed files differ.
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
await mkdir(`${here}dist`, { recursive: true });
await build({
  absWorkingDir: here,
  entryPoints: { demo: 'src/main.tsx' },
  outdir: 'dist',
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  jsx: 'automatic',
  charset: 'utf8',
  legalComments: 'eof',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
await copyFile(`${here}index.html`, `${here}dist/index.html`);
