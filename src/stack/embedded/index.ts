export { EmbeddedStack, type EmbeddedStackOptions } from './embedded-stack.js';
