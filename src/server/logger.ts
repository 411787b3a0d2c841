/**
 * The process logger: JSON lines by default (for log shippers), pretty on a TTY or when asked.
 */
import { pino, type Logger } from 'pino';
import type { LogConfig } from '../config/index.js';

export function createLogger(config: LogConfig, options: { isTty: boolean }): Logger {
  const pretty = config.pretty === 'auto' ? options.isTty : config.pretty;
  if (!pretty) return pino({ level: config.level, base: { name: 'herald' } });
  return pino({
    level: config.level,
    base: { name: 'herald' },
    transport: { target: 'pino-pretty', options: { colorize: options.isTty, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' } },
  });
}
