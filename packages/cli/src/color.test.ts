/**
 * @module color.test
 * When colour is on: TTY, NO_COLOR and the --color/--no-color flags; and the codes each tone paints.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { colorFlag, painter, severityTone, shouldColor } from './color.js';

test('colour follows the TTY unless NO_COLOR is set; the flags override both', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  assert.equal(shouldColor(tty, {}, undefined), true);
  assert.equal(shouldColor(pipe, {}, undefined), false);
  assert.equal(shouldColor({}, {}, undefined), false);
  assert.equal(shouldColor(tty, { NO_COLOR: '1' }, undefined), false);
  assert.equal(shouldColor(tty, { NO_COLOR: '' }, undefined), true, 'an empty NO_COLOR counts as unset');
  assert.equal(shouldColor(pipe, {}, true), true, '--color forces colour into a pipe');
  assert.equal(shouldColor(tty, { NO_COLOR: '1' }, true), true, '--color beats NO_COLOR');
  assert.equal(shouldColor(tty, {}, false), false, '--no-color beats the TTY');
});

test('the last of --color and --no-color wins; nothing after -- counts', () => {
  assert.equal(colorFlag(['tail', 'x']), undefined);
  assert.equal(colorFlag(['--color']), true);
  assert.equal(colorFlag(['--no-color']), false);
  assert.equal(colorFlag(['--color', '--no-color']), false);
  assert.equal(colorFlag(['--no-color', 'x', '--color']), true);
  assert.equal(colorFlag(['--', '--color']), undefined);
});

test('tones: critical red, error magenta, warning yellow, info cyan, resolved green, dim', () => {
  const paint = painter(true);
  assert.equal(paint('critical', 'x'), '\x1b[31mx\x1b[0m');
  assert.equal(paint('error', 'x'), '\x1b[35mx\x1b[0m');
  assert.equal(paint('warning', 'x'), '\x1b[33mx\x1b[0m');
  assert.equal(paint('info', 'x'), '\x1b[36mx\x1b[0m');
  assert.equal(paint('resolved', 'x'), '\x1b[32mx\x1b[0m');
  assert.equal(paint('dim', 'x'), '\x1b[2mx\x1b[0m');
  assert.equal(paint(undefined, 'x'), 'x');
  assert.equal(painter(false)('critical', 'x'), 'x');
  assert.equal(severityTone('error'), 'error');
  assert.equal(severityTone('fatal'), undefined);
  assert.equal(severityTone('toString'), undefined);
});
