/**
 * @module tabs
 * A row of tabs kept in the URL (`?tab=`), so a link opens the same tab and back/forward move between them.
 */
import { withParams } from '../lib/router.js';

export function Tabs<T extends string>(props: {
  tabs: readonly (readonly [T, string])[];
  current: T;
  label: string;
  param?: string;
}) {
  const param = props.param ?? 'tab';
  return (
    <nav class="tabs" aria-label={props.label}>
      {props.tabs.map(([id, title], i) => (
        <a
          key={id}
          href={withParams({ [param]: i === 0 ? undefined : id })}
          aria-current={id === props.current ? 'page' : undefined}
          data-testid={`tab-${id}`}
        >
          {title}
        </a>
      ))}
    </nav>
  );
}
