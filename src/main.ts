#!/usr/bin/env node
/**
 * The `herald` command: parse arguments, load and validate the configuration (exit 2 with a
 * message naming the key when it is wrong), start the server, stop gracefully on SIGINT/SIGTERM.
 * `herald rules ...` and `herald messages ...` are clients of a running server's management API
 * instead (src/cli).
 */
import { runMessagesCommand, runRulesCommand } from './cli/index.js';
import { ConfigError, loadConfig, parseCliArgs, usageText } from './config/index.js';
import { HeraldServer, PRODUCT } from './server/index.js';
import { createLogger } from './server/logger.js';

async function main(argv: string[]): Promise<number> {
  let args;
  let config;
  // Notices from loading (users dropped with their domain, demo passwords on a public address)
  // are logged once the logger exists.
  const notices: string[] = [];
  try {
    args = parseCliArgs(argv);
    if (args.command === 'help') {
      process.stdout.write(`${usageText()}\n`);
      return 0;
    }
    if (args.command === 'version') {
      process.stdout.write(`${PRODUCT}\n`);
      return 0;
    }
    if (args.command === 'rules') {
      return await runRulesCommand(args.commandArgs ?? [], { env: process.env, stdout: process.stdout, stderr: process.stderr });
    }
    if (args.command === 'messages') {
      return await runMessagesCommand(args.commandArgs ?? [], { env: process.env, stdout: process.stdout, stderr: process.stderr });
    }
    config = await loadConfig({
      ...(args.configFile !== undefined ? { file: args.configFile } : {}),
      env: process.env,
      overrides: args.overrides,
      warn: (message) => notices.push(message),
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`herald: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger(config.log, { isTty: Boolean(process.stdout.isTTY) });
  for (const notice of notices) logger.warn(notice);
  const server = new HeraldServer({ config, logger });
  // Signal handlers go in before anything is printed: a supervisor may send SIGTERM the moment
  // it sees the listening line, and a signal during start-up stops the server right after it.
  let signalled: NodeJS.Signals | undefined;
  let wake: (() => void) | undefined;
  const stopRequested = new Promise<void>((resolve) => { wake = resolve; });
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = signal;
    wake?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await server.start();
  } catch (err) {
    logger.fatal({ err }, 'Herald could not start');
    logger.flush();
    return 1;
  }
  if (!signalled) {
    const where = server.listeningPoints.map((lp) => `${lp.transport}:${lp.address.includes(':') ? `[${lp.address}]` : lp.address}:${lp.port}`).join(' ');
    const api = server.apiPort !== undefined ? `; api http://${config.api.listen.address.includes(':') ? `[${config.api.listen.address}]` : config.api.listen.address}:${server.apiPort}` : '';
    process.stdout.write(`Herald listening on ${where} (domains: ${config.domains.join(', ')}; auth ${config.auth.enabled ? 'on' : 'off'}${api})\n`);
  }
  await stopRequested;
  logger.info({ signal: signalled }, 'shutting down');
  try {
    await server.stop();
  } catch (err) {
    logger.error({ err }, 'error during shutdown');
  }
  logger.flush();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`herald: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
