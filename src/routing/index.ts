export { Router, KNOWN_METHODS, type Capabilities, type RouterOptions } from './router.js';
