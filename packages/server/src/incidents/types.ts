/**
 * @module incident-types
 * The incident model published on `incidents` and served by `/api/v1/incidents`.
 */
import type {
  IncidentComment,
  IncidentData,
  IncidentEventKind,
  IncidentStatus,
  IncidentTimelineEntry,
  IncidentTimelineType,
} from '@vigil/protocol';

export type { IncidentComment, IncidentEventKind, IncidentStatus };
export type Incident = IncidentData;
export type TimelineEntry = IncidentTimelineEntry;
export type TimelineType = IncidentTimelineType;

export const INCIDENT_STATUSES: readonly IncidentStatus[] = ['open', 'acknowledged', 'resolved'];
