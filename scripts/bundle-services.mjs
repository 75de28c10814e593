#!/usr/bin/env node
// Part of `pnpm build`, after `tsc -b`: bundles each service's compiled code
// (apps/<service>/dist/main.js) and its dependencies into one ES module,
// apps/<service>/dist/bundle/main.js, with a source map back to the TypeScript
// sources. Started from the bundle, Node reads and compiles one file instead of
// resolving and loading over 1,500 modules one by one, which was most of a
// service's start-up (docs/performance.md, "Start-up"). Not minified, so the
// bundle stays readable in a debugger.
import { build } from 'esbuild';
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

await Promise.all(
  SERVICES.map((service) =>
    build({
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
      plugins: [uninstalledOptionalPackages],
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
    }),
  ),
);
