/**
 * Compiles src/storage (and only what it imports) with the project's build options into a private
 * directory, so a child Node process can run the real storage code without tsx. The output lives
 * under node_modules/.cache so the child resolves better-sqlite3 and pino from the project, and it
 * does not depend on other folders of src/ compiling, nor race with a `npm run build` into dist/.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface StorageBuild {
  /** Absolute path of the compiled storage/index.js. */
  indexJs: string;
  remove(): Promise<void>;
}

export async function buildStorage(timeoutMs: number): Promise<StorageBuild> {
  const outDir = join(PROJECT_ROOT, 'node_modules', '.cache', 'herald-storage-build', `${process.pid}-${Date.now()}`);
  await mkdir(outDir, { recursive: true });
  const config = join(outDir, 'tsconfig.json');
  await writeFile(
    config,
    JSON.stringify({
      extends: join(PROJECT_ROOT, 'tsconfig.build.json'),
      compilerOptions: { outDir, rootDir: join(PROJECT_ROOT, 'src'), sourceMap: false, incremental: false },
      files: [join(PROJECT_ROOT, 'src', 'storage', 'index.ts')],
      include: [],
    }),
  );
  const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = await new Promise<{ code: number; output: string }>((resolvePromise) => {
    execFile(process.execPath, [tsc, '-p', config], { cwd: PROJECT_ROOT, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolvePromise({ code, output: `${stdout}${stderr}` });
    });
  });
  const indexJs = join(outDir, 'storage', 'index.js');
  const remove = async (): Promise<void> => {
    await rm(outDir, { recursive: true, force: true });
    // Drop the shared parent too when no other run is using it.
    await rmdir(dirname(outDir)).catch(() => undefined);
  };
  if (result.code !== 0) {
    await remove();
    throw new Error(`tsc failed to compile src/storage (exit ${result.code}):\n${result.output}`);
  }
  await stat(indexJs);
  return { indexJs, remove };
}
