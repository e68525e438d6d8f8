/** Neutron's tag length limit, for every tag kuryr writes (Docker and pod side). */

/** Neutron refuses tags longer than 60 characters. */
export const MAX_TAG_LENGTH = 60;

/** Cuts a tag to Neutron's limit. */
export function fitTag(tag: string): string {
  return tag.slice(0, MAX_TAG_LENGTH);
}
