/** `@scope/name` (the '@' optional; the schema checked its shape) as the core's scope and name. */
export const splitPackageRef = (ref: string): { scope: string; name: string } => {
  const slash = ref.indexOf('/');
  return { scope: ref.slice(0, slash).replace(/^@/, ''), name: ref.slice(slash + 1) };
};
