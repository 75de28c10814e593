#!/usr/bin/env node
// Part of `pnpm build`, after `tsc -b`: bundles each service's compiled code
// (apps/<service>/dist/main.js) and its dependencies into one ES module,
// apps/<service>/dist/bundle/main.js, with a source map back to the TypeScript
// sources. Started from the bundle, Node reads and compiles one file instead of
// resolving and loading over 1,500 modules one by one, which was most of a
// service's start-up (docs/performance.md, "Start-up"). Not minified, so the
// bundle stays readable in a debugger.
import { context } from 'esbuild';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SERVICES = ['api-gateway', 'booking-service', 'notification-service'];

/**
 * Leaves a package a library only may load (Nest's optional transports,
 * class-validator, pg-native …) out of the bundle when it is not installed:
 * the library's own `require` or `import` of it then fails at run time and is
 * handled there, exactly as without the bundle.
 */
const uninstalledOptionalPackages = {
  name: 'uninstalled-optional-packages',
  setup(context) {
    context.onResolve({ filter: /^[^./]/ }, async ({ path, kind, importer, resolveDir, pluginData }) => {
      if (pluginData === 'probe' || path.startsWith('node:')) return undefined;
      const found = await context.resolve(path, { kind, importer, resolveDir, pluginData: 'probe' });
      return found.errors.length > 0 ? { path, external: true } : undefined;
    });
  },
};

/**
 * With `keepNames`, esbuild wraps every named function it emits in `__name(fn, "name")`, which sets the
 * name with Object.defineProperty even when the function already has it: closures created per request
 * (most of them arrow functions with their own names) then cost a property definition and a change of
 * hidden class each, a large share of the gateway's CPU per request (docs/performance.md). The helper is
 * rewritten to set only the names the bundle changed. Written here because esbuild offers no option for it.
 */
const KEEP_NAMES_HELPER = 'var __name = (target, value) => __defProp(target, "name", { value, configurable: true });';
const RENAMED_ONLY_HELPER =
  'var __name = (target, value) => target.name === value ? target : __defProp(target, "name", { value, configurable: true });';
const namesSetOnlyWhenChanged = {
  name: 'names-set-only-when-changed',
  setup(context) {
    context.onEnd(async (result) => {
      for (const file of result.outputFiles ?? []) {
        let contents = file.contents;
        if (file.path.endsWith('.js')) {
          if (!file.text.includes(KEEP_NAMES_HELPER)) throw new Error(`${file.path}: esbuild's __name helper changed`);
          contents = file.text.replace(KEEP_NAMES_HELPER, RENAMED_ONLY_HELPER);
        }
        // An unchanged bundle is not rewritten, so that `pnpm dev` restarts only the services whose code changed.
        const previous = await readFile(file.path).catch(() => undefined);
        if (previous?.equals(Buffer.from(contents))) continue;
        await mkdir(dirname(file.path), { recursive: true });
        await writeFile(file.path, contents);
      }
    });
  },
};

// `--watch` (`pnpm dev`): stays running and bundles a service again whenever tsc rewrites its compiled code.
const watch = process.argv.includes('--watch');

await Promise.all(
  SERVICES.map(async (service) => {
    const bundler = await context({
      // dist/bundle/ is as deep as the compiled modules' own folders (dist/web/ …), so paths a module
      // takes relative to itself (the gateway's default web root) lead to the same place from the bundle.
      entryPoints: [join(root, 'apps', service, 'dist', 'main.js')],
      outfile: join(root, 'apps', service, 'dist', 'bundle', 'main.js'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: true,
      // Stack traces need only the mappings; the sources stay where they are.
      sourcesContent: false,
      // Classes keep their names where the bundle renames them (Nest names loggers and providers by them).
      keepNames: true,
      // Libraries that load a package by name at run time (`createRequire(import.meta.url)('<name>')`, which
      // esbuild cannot follow: evanw/esbuild#1828) find it from the bundle's place, so each service lists such
      // packages among its own dependencies: swagger-ui-dist (@nestjs/swagger serves its files) and
      // @nats-io/transport-node (Nest's NATS client). The @nats-io packages also stay out of the bundle, as
      // Nest advises (its load-package.util), so that the services use that one copy: the gateway tells NATS
      // errors apart by class. Each service therefore lists every @nats-io package its bundle imports
      // (libs/shared declares no side effects, so a bundle keeps only the parts of it its service uses).
      external: ['@nats-io/*'],
      plugins: [uninstalledOptionalPackages, namesSetOnlyWhenChanged],
      // Written by namesSetOnlyWhenChanged, once its helper is rewritten.
      write: false,
      // Bundled CommonJS modules call require() for Node's built-ins and name __dirname, which an ES module lacks.
      banner: {
        js: [
          "import { createRequire as __bundleCreateRequire } from 'node:module';",
          "import { dirname as __bundleDirname } from 'node:path';",
          "import { fileURLToPath as __bundleFileURLToPath } from 'node:url';",
          'const require = __bundleCreateRequire(import.meta.url);',
          'const __filename = __bundleFileURLToPath(import.meta.url);',
          'const __dirname = __bundleDirname(__filename);',
        ].join('\n'),
      },
      logLevel: 'warning',
    });
    if (watch) return bundler.watch();
    try {
      await bundler.rebuild();
    } finally {
      await bundler.dispose();
    }
  }),
);
