/**
 * @module metrics-routes
 * Metrics over HTTP: ingest (JSON, Prometheus text exposition 0.0.4, InfluxDB line protocol, gzip accepted) and the
 * read side (series list, current values, range queries, window statistics, summary, scrape status). Ingest replies
 * are sent once the accepted samples are durable.
 */
import { createGunzip } from 'node:zlib';
import { type Static, Type } from '@sinclair/typebox';
import { VigilError } from '@vigil/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { access } from '../../auth/route-access.js';
import type { InfluxPrecision } from '../../metrics/ingest/influx-line.js';
import { readJsonSamples } from '../../metrics/ingest/json-samples.js';
import { parsePrometheusText } from '../../metrics/ingest/prometheus-text.js';
import type { IngestIssue, IngestOutcome } from '../../metrics/pipeline.js';
import { queryResultJson } from '../../metrics/query.js';
import { type MetricsService, STATS_WINDOWS } from '../../metrics/service.js';
import { ErrorResponse } from '../error-handler.js';

const IngestReply = Type.Object({
  accepted: Type.Integer(),
  rejected: Type.Integer(),
  errors: Type.Array(
    Type.Object({
      index: Type.Optional(Type.Integer()),
      line: Type.Optional(Type.Integer()),
      code: Type.String(),
      message: Type.String(),
      metric: Type.Optional(Type.String()),
    }),
  ),
});

const Filter = Type.Object({
  prefix: Type.Optional(Type.String({ description: 'Metric name prefix.' })),
  labels: Type.Optional(Type.String({ description: '`k=v,k2=v2` or a JSON object; every pair must match.' })),
});

const Labels = Type.Record(Type.String(), Type.String());

/** `k=v,k2=v2` or JSON. */
export function parseLabelFilter(text: string | undefined): Record<string, string> | undefined {
  if (!text) return undefined;
  const out: Record<string, string> = Object.create(null);
  if (text.trim().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new VigilError('bad_request', '`labels` is not valid JSON', { path: 'labels' });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new VigilError('bad_request', '`labels` must be an object of strings', { path: 'labels' });
    }
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'string')
        throw new VigilError('bad_request', `labels.${k} must be a string`, { path: 'labels' });
      out[k] = v;
    }
    return out;
  }
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new VigilError('bad_request', `labels: '${pair}' is not k=v`, { path: 'labels' });
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

async function reply(outcome: IngestOutcome, res: FastifyReply) {
  await outcome.durable;
  const body = { accepted: outcome.accepted, rejected: outcome.rejected, errors: outcome.errors };
  if (outcome.accepted === 0 && outcome.rejected > 0) {
    const allCardinality = outcome.errors.every((e) => e.code === 'cardinality_limit');
    const code = allCardinality ? 'cardinality_limit' : 'bad_request';
    return res.status(allCardinality ? 429 : 400).send({
      error: { code, message: `All ${outcome.rejected} samples were rejected`, details: body },
    });
  }
  return body;
}

export function metricsRoutes(app: FastifyInstance, metrics: MetricsService): void {
  // The text ingest routes read the body's bytes: line protocol is parsed from them as they are.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(
    ['text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded'],
    { parseAs: 'buffer' },
    (_req, body, done) => done(null, body),
  );
  app.addHook('preParsing', async (req, _reply, payload) => {
    if (req.headers['content-encoding'] !== 'gzip') return payload;
    const gunzip = createGunzip();
    let received = 0;
    payload.on('data', (chunk: Buffer) => {
      received += chunk.length;
      (gunzip as unknown as { receivedEncodedLength: number }).receivedEncodedLength = received;
    });
    delete req.headers['content-encoding'];
    return payload.pipe(gunzip);
  });

  app.post(
    '/api/v1/metrics',
    {
      config: access('publish', ['metrics.>']),
      schema: {
        summary: 'Ingest samples: one `{name, value, labels?, ts?}`, an array, or `{samples: [...]}`',
        tags: ['metrics'],
        body: {},
        response: { 200: IngestReply, 400: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (req, res) => {
      const parsed = readJsonSamples(req.body, Date.now());
      if ('error' in parsed) throw new VigilError('bad_request', parsed.error);
      const issues: IngestIssue[] = parsed.errors.map((e) => ({
        index: e.index,
        code: 'bad_request',
        message: e.message,
      }));
      return reply(
        metrics.ingest(parsed.samples, issues, (i: number) => parsed.positions[i]!),
        res,
      );
    },
  );

  app.post<{ Body: Buffer | undefined }>(
    '/api/v1/write/prometheus',
    {
      config: access('publish', ['metrics.>']),
      schema: {
        summary: 'Ingest Prometheus text exposition format 0.0.4',
        tags: ['metrics'],
        consumes: ['text/plain'],
        response: { 200: IngestReply, 400: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (req, res) => {
      if (!Buffer.isBuffer(req.body)) throw new VigilError('bad_request', 'Send the exposition as text/plain');
      const parsed = parsePrometheusText(req.body.toString('utf8'), Date.now());
      const issues: IngestIssue[] = parsed.errors.map((e) => ({
        line: e.line,
        code: 'bad_request',
        message: e.message,
      }));
      return reply(metrics.ingest(parsed.samples, issues), res);
    },
  );

  app.post<{ Body: Buffer | undefined; Querystring: { precision?: InfluxPrecision } }>(
    '/api/v1/write/influx',
    {
      config: access('publish', ['metrics.>']),
      schema: {
        summary: 'Ingest InfluxDB line protocol (as Telegraf sends it)',
        tags: ['metrics'],
        consumes: ['text/plain'],
        querystring: Type.Object({
          precision: Type.Optional(
            Type.Union([Type.Literal('ns'), Type.Literal('us'), Type.Literal('ms'), Type.Literal('s')], {
              default: 'ns',
            }),
          ),
          db: Type.Optional(Type.String()),
        }),
        response: { 200: IngestReply, 400: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (req, res) => {
      if (!Buffer.isBuffer(req.body)) throw new VigilError('bad_request', 'Send line protocol as text/plain');
      return reply(await metrics.ingestInflux(req.body, Date.now(), req.query.precision ?? 'ns'), res);
    },
  );

  app.get<{ Querystring: Static<typeof Filter> }>(
    '/api/v1/metrics',
    {
      config: access('read', ['metrics.>']),
      schema: {
        summary: 'Series with their labels, filtered by name prefix and labels',
        tags: ['metrics'],
        querystring: Filter,
        response: { 200: Type.Object({ series: Type.Array(Type.Object({ metric: Type.String(), labels: Labels })) }) },
      },
    },
    async (req) => ({ series: metrics.list({ prefix: req.query.prefix, labels: parseLabelFilter(req.query.labels) }) }),
  );

  app.get<{ Querystring: Static<typeof Filter> }>(
    '/api/v1/metrics/current',
    {
      config: access('read', ['metrics.>']),
      schema: {
        summary: 'The latest value of every series',
        tags: ['metrics'],
        querystring: Filter,
        response: {
          200: Type.Object({
            metrics: Type.Array(
              Type.Object({
                metric: Type.String(),
                labels: Labels,
                ts: Type.Number(),
                value: Type.Union([Type.Number(), Type.Null()]),
              }),
            ),
          }),
        },
      },
    },
    async (req) => ({
      metrics: metrics.current({ prefix: req.query.prefix, labels: parseLabelFilter(req.query.labels) }),
    }),
  );

  app.get(
    '/api/v1/metrics/summary',
    {
      config: access('read', ['metrics.>']),
      schema: { summary: 'Per metric over the last 5 minutes: series, count, avg, min, max, trend', tags: ['metrics'] },
    },
    async () => ({ metrics: await metrics.summary() }),
  );

  app.get(
    '/api/v1/scrape',
    {
      config: access('read', ['metrics.>']),
      schema: { summary: 'Scrape targets and their last result', tags: ['metrics'] },
    },
    async () => ({ targets: metrics.scraper.status }),
  );

  app.get<{
    Params: { name: string };
    Querystring: { from?: string; to?: string; step?: string; agg?: string; labels?: string };
  }>(
    '/api/v1/metrics/:name',
    {
      config: access('read', ['metrics.>']),
      schema: {
        summary: 'Range query of one metric: points per series, bucketed by step and aggregated',
        tags: ['metrics'],
        params: Type.Object({ name: Type.String() }),
        querystring: Type.Object({
          from: Type.Optional(Type.String({ description: 'ms, RFC 3339, now, now-15m (default now-15m)' })),
          to: Type.Optional(Type.String({ description: 'default now' })),
          step: Type.Optional(Type.String({ description: 'e.g. 10s, 1m, or ms; default: about 1,000 points' })),
          agg: Type.Optional(Type.String({ description: 'avg (default), min, max, sum, count, last, rate, p95' })),
          labels: Type.Optional(Type.String()),
        }),
        response: { 400: ErrorResponse },
      },
    },
    async (req, res) => {
      const q = req.query;
      const result = await metrics.query.run(req.params.name, {
        from: q.from,
        to: q.to,
        step: q.step,
        agg: q.agg,
        labels: parseLabelFilter(q.labels),
      });
      if (result.series.length === 0 && metrics.registry.ofMetric(req.params.name).length === 0) {
        throw new VigilError('not_found', `No metric '${req.params.name}'`, { metric: req.params.name });
      }
      return res.type('application/json; charset=utf-8').send(await queryResultJson(result));
    },
  );

  app.get<{ Params: { name: string }; Querystring: { window?: string; labels?: string } }>(
    '/api/v1/metrics/:name/stats',
    {
      config: access('read', ['metrics.>']),
      schema: {
        summary: 'Window statistics per series: count, min, max, avg, median, stddev, p95, trend, zscore',
        tags: ['metrics'],
        params: Type.Object({ name: Type.String() }),
        querystring: Type.Object({
          window: Type.Optional(
            Type.Union(
              Object.keys(STATS_WINDOWS).map((w) => Type.Literal(w)),
              { default: '5m' },
            ),
          ),
          labels: Type.Optional(Type.String()),
        }),
        response: { 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (req) => {
      const name = req.params.name;
      if (metrics.registry.ofMetric(name).length === 0) throw new VigilError('not_found', `No metric '${name}'`);
      const window = req.query.window ?? '5m';
      return {
        metric: name,
        window,
        series: await metrics.stats(name, STATS_WINDOWS[window]!, parseLabelFilter(req.query.labels)),
      };
    },
  );
}
