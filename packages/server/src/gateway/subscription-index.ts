/**
 * @module subscription-index
 * Finds the subscriptions that match a channel in time proportional to the matching ones: exact names in a map, and
 * wildcard patterns in a trie keyed by segment (`*` and `>` are branches of their own).
 */

interface TrieNode<T> {
  children: Map<string, TrieNode<T>> | undefined;
  star: TrieNode<T> | undefined;
  /** Patterns that end at this node. */
  here: Set<T> | undefined;
  /** Patterns that end with `>` after this node. */
  tail: Set<T> | undefined;
}

function node<T>(): TrieNode<T> {
  return { children: undefined, star: undefined, here: undefined, tail: undefined };
}

export class SubscriptionIndex<T> {
  private readonly exact = new Map<string, Set<T>>();
  private readonly root: TrieNode<T> = node();
  private patternCount = 0;
  private total = 0;

  get size(): number {
    return this.total;
  }

  /** Number of distinct exact channels with subscribers. */
  get exactChannels(): number {
    return this.exact.size;
  }

  /** Subscribers per exact channel, the busiest `limit` of them. */
  busiestChannels(limit: number): Record<string, number> {
    const rows = [...this.exact].map(([channel, set]) => [channel, set.size] as const);
    rows.sort((a, b) => b[1] - a[1]);
    return Object.fromEntries(rows.slice(0, limit));
  }

  add(pattern: string, item: T): void {
    this.total++;
    if (!pattern.includes('*') && !pattern.endsWith('>')) {
      let set = this.exact.get(pattern);
      if (!set) {
        set = new Set();
        this.exact.set(pattern, set);
      }
      set.add(item);
      return;
    }
    this.patternCount++;
    const parts = pattern.split('.');
    let n = this.root;
    for (let i = 0; i < parts.length; i++) {
      const seg = parts[i]!;
      if (seg === '>') {
        n.tail ??= new Set();
        n.tail.add(item);
        return;
      }
      if (seg === '*') {
        n.star ??= node();
        n = n.star;
      } else {
        n.children ??= new Map();
        let next = n.children.get(seg);
        if (!next) {
          next = node();
          n.children.set(seg, next);
        }
        n = next;
      }
    }
    n.here ??= new Set();
    n.here.add(item);
  }

  remove(pattern: string, item: T): void {
    if (!pattern.includes('*') && !pattern.endsWith('>')) {
      const set = this.exact.get(pattern);
      if (set?.delete(item)) {
        this.total--;
        if (set.size === 0) this.exact.delete(pattern);
      }
      return;
    }
    const parts = pattern.split('.');
    const path: [TrieNode<T>, string][] = [];
    let n: TrieNode<T> | undefined = this.root;
    for (let i = 0; i < parts.length && n; i++) {
      const seg = parts[i]!;
      if (seg === '>') {
        if (n.tail?.delete(item)) {
          this.total--;
          this.patternCount--;
          if (n.tail.size === 0) n.tail = undefined;
        }
        this.prune(path);
        return;
      }
      path.push([n, seg]);
      n = seg === '*' ? n.star : n.children?.get(seg);
    }
    if (n?.here?.delete(item)) {
      this.total--;
      this.patternCount--;
      if (n.here.size === 0) n.here = undefined;
    }
    this.prune(path);
  }

  private prune(path: [TrieNode<T>, string][]): void {
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, seg] = path[i]!;
      const child = seg === '*' ? parent.star : parent.children?.get(seg);
      if (!child || child.here || child.tail || child.star || (child.children && child.children.size > 0)) return;
      if (seg === '*') parent.star = undefined;
      else parent.children!.delete(seg);
    }
  }

  /** Calls `fn` for every subscription matching `channel` (an item may be visited once per matching pattern). */
  forEachMatch(channel: string, fn: (item: T) => void): void {
    const exact = this.exact.get(channel);
    if (exact) for (const item of exact) fn(item);
    if (this.patternCount === 0) return;
    this.walk(this.root, channel.split('.'), 0, fn);
  }

  private walk(n: TrieNode<T>, parts: string[], i: number, fn: (item: T) => void): void {
    if (n.tail && i < parts.length) for (const item of n.tail) fn(item);
    if (i === parts.length) {
      if (n.here) for (const item of n.here) fn(item);
      return;
    }
    const next = n.children?.get(parts[i]!);
    if (next) this.walk(next, parts, i + 1, fn);
    if (n.star) this.walk(n.star, parts, i + 1, fn);
  }
}
