/**
 * `steadfast/options`: the rules the SDK validates its own options with, for packages that
 * extend it (`@steadfast/redis`, `@steadfast/telemetry-node`, your own token store). Each
 * throws `InvalidConfigurationError` naming the offending field.
 */
export * from './config/rules.js';
