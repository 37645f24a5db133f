-- Log retention: pruning finds old conversation log rows by their time.
CREATE INDEX conversation_events_by_time ON conversation_events(date_created);
