export { WatcherInfoPackage, WATCHERINFO, type WatcherInfoPackageOptions } from './watcherinfo-package.js';
