/**
 * `steadfast/options`: the vocabulary the SDK declares its own options in, for packages
 * that extend it (`@steadfast/redis`, `@steadfast/telemetry-node`, your own token store).
 * Declare each option once (type, default, range, prose) with these kinds, group them with
 * `optionsObject`, and `parseOptions` validates and fills in the defaults, throwing
 * `InvalidConfigurationError` naming the offending field.
 *
 * @example
 * const schema = optionsObject('MyStoreOptions', 'Options of myStore.', {
 *   timeoutMs: numberOption({ default: 200, min: 1, max: 60_000, doc: 'Per-command timeout.' }),
 * });
 * const { timeoutMs } = parseOptions(schema, input); // 200 when absent
 */
export {
  type AnyOptionsObject,
  booleanOption,
  type CrossCheck,
  customOption,
  type DefaultsOf,
  type DescribedOption,
  defaultsOf,
  describe,
  describeOptions,
  describeType,
  functionOption,
  listItem,
  listOption,
  MAX_TIMEOUT_MS,
  type Nested,
  type NumberSpec,
  nested,
  numberOption,
  type Optional,
  type OptionDoc,
  type OptionMeta,
  type OptionsObject,
  objectWithMethods,
  oneOfOption,
  optInSection,
  optionsObject,
  type Problem,
  parseOptions,
  plainObject,
  type Resolved,
  requiredText,
  type Schema,
  section,
  type TextSpec,
  textOption,
} from './config/schema.js';
