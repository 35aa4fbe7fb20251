/**
 * @module nav
 * The navigation, built from the view list; the current view is marked with `aria-current`.
 */
import { VIEWS } from '../views.js';

export function Nav({ current }: { current: string | undefined }) {
  return (
    <nav class="nav" aria-label="Views">
      <ul>
        {VIEWS.map((v) => (
          <li key={v.id}>
            <a href={v.path} aria-current={v.id === current ? 'page' : undefined} data-view={v.id}>
              {v.title}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
