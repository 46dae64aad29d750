import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import preact from '@preact/preset-vite';
import { defineConfig, type Plugin } from 'vite';

/** After the build, write .br and .gz siblings of every text file, which the server's static door serves by Accept-Encoding. */
const precompress = (): Plugin => {
  let outDir = '';
  return {
    name: 'agentry-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    closeBundle() {
      const walk = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
      for (const file of walk(outDir).filter((f) => /\.(js|css|html|svg|json|txt)$/.test(f))) {
        const bytes = readFileSync(file);
        writeFileSync(`${file}.gz`, gzipSync(bytes, { level: 9 }));
        writeFileSync(`${file}.br`, brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }));
      }
    },
  };
};

export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  plugins: [preact(), precompress()],
  build: {
    outDir: new URL('../dist/console', import.meta.url).pathname,
    emptyOutDir: true,
    target: 'es2022',
    // No inline scripts or styles: the console's Content-Security-Policy allows its own files only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  // `vite web` (development): the API of a server on the default port.
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/registry': 'http://127.0.0.1:8080', '/openapi.json': 'http://127.0.0.1:8080' } },
});
