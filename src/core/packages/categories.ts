/** The fixed list of package categories (agentx's `category`), with display names. */
export const CATEGORIES = [
  { slug: 'productivity', name: 'Productivity' },
  { slug: 'devtools', name: 'Developer Tools' },
  { slug: 'communication', name: 'Communication' },
  { slug: 'data', name: 'Data & Analytics' },
  { slug: 'research', name: 'Research' },
  { slug: 'writing', name: 'Writing' },
  { slug: 'finance', name: 'Finance' },
  { slug: 'marketing', name: 'Marketing' },
  { slug: 'education', name: 'Education' },
  { slug: 'entertainment', name: 'Entertainment' },
  { slug: 'security', name: 'Security' },
  { slug: 'other', name: 'Other' },
] as const;

export type CategorySlug = (typeof CATEGORIES)[number]['slug'];

export const CATEGORY_SLUGS: readonly string[] = CATEGORIES.map((c) => c.slug);
