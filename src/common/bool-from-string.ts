/** oslo `bool_from_string`, non-strict: `1/t/true/on/y/yes` (any case) → true, anything else → false. */
export function boolFromString(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return false;
  return ['1', 't', 'true', 'on', 'y', 'yes'].includes(value.trim().toLowerCase());
}
