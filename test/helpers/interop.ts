/**
 * The gate for tests that need a Debian tool (sipp, redis-server, baresip...): ARCHITECTURE.md §3.
 * A missing tool skips the tests with a visible notice, unless `HERALD_REQUIRE_INTEROP=1` (CI sets
 * it after installing the tools): then a missing tool is an error, so the suite fails instead of
 * silently skipping.
 *
 *   const hasSipp = requireTool('sipp');
 *   describe.skipIf(!hasSipp)('SIPp REGISTER scenarios', () => { ... });
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The absolute path of `name` on PATH (an executable regular file), or undefined. */
export function findOnPath(name: string, pathVariable: string | undefined = process.env.PATH): string | undefined {
  if (name.includes('/')) return isExecutableFile(name) ? name : undefined;
  for (const dir of (pathVariable ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** True when the environment demands that interop tools be present (`HERALD_REQUIRE_INTEROP=1`). */
export function interopRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.HERALD_REQUIRE_INTEROP === '1';
}

/**
 * True when the tool `name` is on PATH. When it is not: throws if `HERALD_REQUIRE_INTEROP=1`
 * (the test file then fails to load, which fails the run), otherwise prints a notice on stderr
 * and returns false so the caller can `describe.skipIf(!has)`.
 */
export function requireTool(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (findOnPath(name, env.PATH) !== undefined) return true;
  if (interopRequired(env)) {
    throw new Error(`interop tool "${name}" is not installed, and HERALD_REQUIRE_INTEROP=1 requires it`);
  }
  console.warn(`[interop] "${name}" not found on PATH: skipping the tests that need it (set HERALD_REQUIRE_INTEROP=1 to make this a failure)`);
  return false;
}
