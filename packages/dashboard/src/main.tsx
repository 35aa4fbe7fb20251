/**
 * @module main
 * Boots the dashboard: applies a stored theme choice before the first paint, makes same-origin links client-side,
 * and renders the app.
 */
import { render } from 'preact';
import { App } from './app.js';
import { interceptLinks } from './lib/router.js';
import { applyStoredTheme } from './lib/theme.js';
import './styles/base.css';
import './styles/layout.css';
import './styles/components.css';

applyStoredTheme();
const root = document.getElementById('app')!;
interceptLinks(root);
render(<App />, root);
