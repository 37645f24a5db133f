-- A message's op_id first: the SDK's op_ids start with the time, as new SIDs do, so a new
-- entry lands at the index's end instead of in its conversation's part. The unique key is the
-- same three columns.
DROP INDEX messages_by_op_id;
CREATE UNIQUE INDEX messages_by_op_id ON messages(op_id, conversation_id, author) WHERE op_id IS NOT NULL;
