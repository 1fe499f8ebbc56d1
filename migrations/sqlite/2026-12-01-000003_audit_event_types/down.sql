DROP TABLE audit_event_types;
