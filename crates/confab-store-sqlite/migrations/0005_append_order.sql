-- The conversation log as rows appended in commit order, found by (conversation, seq) through
-- an index. Clustered by (conversation, seq) (WITHOUT ROWID), each new event went into the
-- last page of its conversation: with many busy conversations every message dirtied a page
-- of its own holding about five whole frames, split it every fifth message, and each dirty
-- page is 4 KiB of WAL at commit. Appended, new frames share the table's last pages, and
-- only a small index entry lands in each conversation's part of the index.
CREATE TABLE conversation_events_appended (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    message_id      INTEGER,
    frame           BLOB NOT NULL,
    date_created    INTEGER NOT NULL,
    UNIQUE (conversation_id, seq)
);
INSERT INTO conversation_events_appended (conversation_id, seq, message_id, frame, date_created)
    SELECT conversation_id, seq, message_id, frame, date_created FROM conversation_events
    ORDER BY date_created, conversation_id, seq;
DROP TABLE conversation_events;
ALTER TABLE conversation_events_appended RENAME TO conversation_events;
CREATE INDEX conversation_events_by_message ON conversation_events(message_id) WHERE message_id IS NOT NULL;
CREATE INDEX conversation_events_by_time ON conversation_events(date_created);

-- A message's op_id first: the SDK's op_ids start with the time, as new SIDs do, so a new
-- entry lands at the index's end instead of in its conversation's part (one dirty page less
-- per message). The unique key is the same three columns.
DROP INDEX messages_by_op_id;
CREATE UNIQUE INDEX messages_by_op_id ON messages(op_id, conversation_id, author) WHERE op_id IS NOT NULL;
