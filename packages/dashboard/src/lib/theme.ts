/**
 * @module theme
 * Dark or light. Until the user chooses, the page follows `prefers-color-scheme` (dark unless the system asks for
 * light), through CSS alone; a choice is kept in localStorage and set as `data-theme` on the root element.
 */
import { useEffect, useState } from 'preact/hooks';

export type Theme = 'dark' | 'light';

const KEY = 'vigil.theme';
const listeners = new Set<() => void>();
const media = matchMedia('(prefers-color-scheme: light)');

function chosen(): Theme | null {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'dark' || v === 'light' ? v : null;
  } catch {
    return null;
  }
}

export function currentTheme(): Theme {
  return chosen() ?? (media.matches ? 'light' : 'dark');
}

/** Applies a stored choice before the first render. */
export function applyStoredTheme(): void {
  const c = chosen();
  if (c) document.documentElement.dataset.theme = c;
}

export function setTheme(theme: Theme): void {
  try {
    localStorage.setItem(KEY, theme);
  } catch {
    // private mode: the choice lasts for the page
  }
  document.documentElement.dataset.theme = theme;
  for (const l of listeners) l();
}

media.addEventListener('change', () => {
  if (!chosen()) for (const l of listeners) l();
});

export function useTheme(): Theme {
  const [theme, set] = useState(currentTheme);
  useEffect(() => {
    const update = () => set(currentTheme());
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return theme;
}
