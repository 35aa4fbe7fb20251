/**
 * @module dialect-client
 * Test support for the dialect suites: a recorder that keeps every call a client's handler makes and waits for the
 * ones a test expects, and small HTTP helpers.
 */

export interface Call {
  name: string;
  args: unknown[];
}

export class Recorder {
  readonly calls: Call[] = [];
  private waiters: { pred: (c: Call) => boolean; resolve: (c: Call) => void }[] = [];

  /** A function that records its calls under `name`. */
  fn(name: string): (...args: unknown[]) => void {
    return (...args: unknown[]) => {
      const call = { name, args };
      this.calls.push(call);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(call)) return true;
        w.resolve(call);
        return false;
      });
    };
  }

  of(name: string): Call[] {
    return this.calls.filter((c) => c.name === name);
  }

  /** The first call (made or to come) that matches; the timeout is a safety net of at least 30 s. */
  wait(pred: (c: Call) => boolean, what = 'a call', timeoutMs = 30_000): Promise<Call> {
    const seen = this.calls.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${what}; calls: ${JSON.stringify(this.calls.slice(-5))}`)),
        Math.max(timeoutMs, 30_000),
      );
      this.waiters.push({
        pred,
        resolve: (c) => {
          clearTimeout(timer);
          resolve(c);
        },
      });
    });
  }

  /** The first call of `name` whose first argument passes `pred`. */
  waitFor(name: string, pred: (arg: Record<string, unknown>) => boolean = () => true): Promise<Call> {
    return this.wait((c) => c.name === name && pred(c.args[0] as Record<string, unknown>), name);
  }
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
