export { HeraldServer, PRODUCT, type HeraldServerOptions } from './herald-server.js';
export { createLogger } from './logger.js';
