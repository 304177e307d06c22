/**
 * `npm run gen`: write the generated config artifacts from the default registry:
 * `config/schema/polaroid.schema.json` (JSON Schema for editors) and `docs/components.md`.
 * A test checks that the committed files equal what this produces.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultRegistry } from './default-registry.ts';
import { renderComponentsDoc } from './docs.ts';
import { buildJsonSchema } from './jsonschema.ts';
import type { Registry } from './registry.ts';

/** Repository root (this file lives in `config/`). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface Artifact {
  /** Path relative to the repository root. */
  path: string;
  content: string;
}

export function generateArtifacts(registry: Registry): Artifact[] {
  return [
    {
      path: 'config/schema/polaroid.schema.json',
      content: `${JSON.stringify(buildJsonSchema(registry), null, 2)}\n`,
    },
    { path: 'docs/components.md', content: renderComponentsDoc(registry) },
  ];
}

function main(): void {
  for (const a of generateArtifacts(defaultRegistry())) {
    const full = join(ROOT, a.path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, a.content);
    console.log(`wrote ${relative(process.cwd(), full)}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
