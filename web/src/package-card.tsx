import type { Json } from './api/types';
import { Badge, formatCount, formatDate } from './ui';

/** A package in a list, as the API's schema says (a renamed field fails the console's build). */
export type ListItem = Json<'/api/v1/packages', 'get'>['packages'][number] & { period_downloads?: number };

export const KIND_NAME: Record<string, string> = { agent: 'agent', skill: 'skill', 'mcp-server': 'MCP server', recipe: 'recipe' };

export const packageHref = (p: { full_name: string }): string => `/${p.full_name}`;

export const PackageCard = ({ p }: { p: ListItem }) => (
  <li class="card">
    <div class="card-head">
      <a href={packageHref(p)} class="card-title">
        {p.full_name}
      </a>
      <Badge tone="muted">{KIND_NAME[p.kind] ?? p.kind}</Badge>
      {p.is_verified && <Badge tone="ok" title="Verified publisher">✓ verified</Badge>}
    </div>
    <p class="card-desc">{p.description || <span class="muted">No description.</span>}</p>
    <p class="card-meta muted">
      {p.latest_version && <span>v{p.latest_version}</span>}
      <span aria-label={`${p.download_count} downloads`}>↓ {formatCount(p.download_count)}</span>
      <span aria-label={`${p.star_count} stars`}>★ {formatCount(p.star_count)}</span>
      {p.period_downloads !== undefined && <span>{formatCount(p.period_downloads)} this period</span>}
      {p.category && <a href={`/search?category=${encodeURIComponent(p.category)}`}>{p.category}</a>}
      <span>updated {formatDate(p.updated_at)}</span>
    </p>
  </li>
);
